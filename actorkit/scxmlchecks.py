"""Lint checks that depend on a chart's ``semantics:``: the keys only ``scxml`` knows, refused
under ``sismic`` (AK213), and under ``scxml`` the rules SCXML adds (AK214 to AK216)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .descriptors import descriptors, matches

if TYPE_CHECKING:
    from .checks import ChartModel, Finding, StateInfo

__all__ = ["deeper_default", "done_state", "fed", "scxml_behaviour", "scxml_memory",
           "scxml_structure", "sismic_refusals"]

_DONE = "done.state."


def _finding(*args: object, **kwargs: object) -> Finding:
    from .checks import Finding
    return Finding(*args, **kwargs)  # type: ignore[arg-type]


def _needs(what: str) -> str:
    return (f"{what} needs `semantics: scxml` at the top of the chart (sismic's own semantics "
            f"has no such thing): add it, or remove this")


def sismic_refusals(model: ChartModel) -> Iterator[Finding]:
    """AK213: keys and shapes only ``semantics: scxml`` runs."""
    for s in model.order:
        for key in ("initial", "memory"):
            if isinstance(s.raw.get(key), list):
                yield _finding("AK213", (*s.path, key),
                               _needs(f"a list of {key} states for {s.name!r}"))
        if s.kind.endswith("history") and len(s.memories) == 1 and deeper_default(model, s):
            yield _finding("AK213", (*s.path, "memory"), _needs(
                f"a history default below a child of {s.parent!r}"))
    for t in model.transitions():
        raw = model.raw_of(t)
        if isinstance(raw.get("target"), list):
            yield _finding("AK213", (*t.path, "target"), _needs("a transition with a list of "
                                                                 "targets"))
        if "type" in raw:
            yield _finding("AK213", (*t.path, "type"), _needs("`type:` on a transition"))


def scxml_memory(model: ChartModel, s: StateInfo) -> Iterator[Finding]:
    """AK209 under ``scxml``: a history state's defaults are states inside its parent (SCXML
    lets a shallow history's default be deeper than a sibling too)."""
    parent = s.parent
    if parent is None:
        return
    listed = isinstance(s.raw.get("memory"), list)
    for i, name in enumerate(s.memories):
        info = model.states.get(name)
        if info is None or name == s.name or info.kind.endswith("history") \
                or not model.is_descendant(name, parent):
            yield _finding("AK209", (*s.path, "memory", *((i,) if listed else ())),
                           f"memory {name!r} of history state {s.name!r} must be a state "
                           f"inside {parent!r}: fix the name")


def scxml_structure(model: ChartModel) -> Iterator[Finding]:
    """AK215: the targets of one transition must make a legal configuration together, each
    in a different region of a parallel state."""
    for t in model.transitions():
        if len(t.targets) < 2 or any(x not in model.states for x in t.targets):
            continue
        for i, a in enumerate(t.targets):
            for b in t.targets[i + 1:]:
                if not _apart(model, a, b):
                    yield _finding("AK215", (*t.path, "target"),
                                   f"targets {a!r} and {b!r} cannot be active together: each "
                                   f"target of one transition must be in a different region "
                                   f"of a parallel state; target one of them only")
                    break
            else:
                continue
            break


def _apart(model: ChartModel, a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` lie in different regions of their least common ancestor,
    a parallel state (neither above the other)."""
    up_a = [a, *model.ancestors(a)]
    up_b = [b, *model.ancestors(b)]
    if a in up_b or b in up_a:
        return False
    common = next(x for x in up_a if x in up_b)
    return model.states[common].kind == "orthogonal"


def fed(model: ChartModel, descriptor: str, declared: set[str]) -> bool:
    """Under ``scxml``: whether an event that can happen (``declared``, or a done event of
    the chart's) matches ``descriptor``."""
    if done_state(model, descriptor) is not None:
        return True  # AK214 checks the state it names
    if any(matches(descriptor, n) for n in declared):
        return True
    # `done` or `done.state` match the done events of any compound or parallel state
    return any(matches(descriptor, f"done.state.{s.name}") for s in model.order
               if s.kind in ("compound", "orthogonal"))


def deeper_default(model: ChartModel, s: StateInfo) -> bool:
    """Whether history state ``s``'s default is below one of its siblings (AK213 under
    ``sismic``, legal under ``scxml``)."""
    m = s.memory
    return (m is not None and s.parent is not None and m in model.states and m != s.name
            and model.states[m].parent != s.parent and model.is_descendant(m, s.parent))


def done_state(model: ChartModel, descriptor: str) -> str | None:
    """For a ``done.state.<name>`` descriptor, the ``<name>`` (else ``None``)."""
    return descriptor[len(_DONE):] if descriptor.startswith(_DONE) else None


def scxml_behaviour(model: ChartModel) -> Iterator[Finding]:
    """AK214 (``done.state.X`` names a compound or parallel state) and AK216 (``priority``
    under ``scxml``)."""
    for t in model.transitions():
        for d in descriptors(t.event):
            name = done_state(model, d)
            if name is None or not name:
                continue
            info = model.states.get(name)
            if info is None or info.kind not in ("compound", "orthogonal"):
                why = (f"there is no state {name!r}" if info is None else
                       f"{name!r} is a{'n' if info.kind[0] in 'ao' else ''} {info.kind} state, "
                       f"and only compound and parallel states are ever done")
                yield _finding("AK214", (*t.path, "event"),
                               f"event {d!r} never happens: {why}; name a compound or "
                               f"parallel state")
        if "priority" in model.raw_of(t):
            yield _finding("AK216", (*t.path, "priority"),
                           "`priority` has no effect under `semantics: scxml`: document order "
                           "decides (the first enabled transition in document order wins); "
                           "move this transition above the ones it should win over and remove "
                           "`priority`")
