"""Checks on a chart's statechart that sismic does not make, each reported with its position.

They run on the plain data of the ``statechart`` section (already shape-checked against the
chart schema), so a chart with several mistakes gets all of them reported at once, not one
exception at a time from sismic's importer.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .descriptors import descriptors, matches_any
from .schemas import SYSTEM_EVENTS, ActorSchemas
from .scxmlchecks import (
    deeper_default,
    fed,
    scxml_behaviour,
    scxml_memory,
    scxml_structure,
    sismic_refusals,
)

__all__ = ["ChartModel", "Finding", "Sent", "StateInfo", "TransitionInfo", "sent_event_names"]

NodePath = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """A problem in the statechart: rule ``code`` at the node ``path`` of the chart document."""

    code: str
    path: NodePath
    message: str
    #: another node the problem involves (the first of two duplicates), shown with its line
    other: NodePath | None = None
    #: a place in the hooks module instead of the chart (line, column)
    in_hooks: tuple[int, int] | None = None


@dataclass
class TransitionInfo:
    source: str
    index: int
    path: NodePath
    target: str | None
    event: str | None
    guard: str | None
    action: Any
    priority: int
    #: every target (``target`` is the first); more than one only under ``semantics: scxml``
    targets: tuple[str, ...] = ()
    #: ``type: internal`` (``semantics: scxml``)
    internal: bool = False


@dataclass
class StateInfo:
    name: str
    path: NodePath
    parent: str | None
    kind: str  # atomic | compound | orthogonal | final | shallow history | deep history
    initial: str | None = None
    memory: str | None = None
    #: every initial / default history state (more than one only under ``semantics: scxml``)
    initials: tuple[str, ...] = ()
    memories: tuple[str, ...] = ()
    children: list[str] = field(default_factory=list)
    transitions: list[TransitionInfo] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def _names(value: Any) -> tuple[str, ...]:
    """A state name or (``semantics: scxml``) a list of them, as a tuple."""
    if value is None:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def _priority(value: Any) -> int:
    return {"high": 1, "low": -1}.get(value, value) if value is not None else 0


class ChartModel:
    """The states and transitions of a statechart section, indexed by name, with positions."""

    def __init__(self, statechart: dict[str, Any], base: NodePath = ("statechart",),
                 semantics: str = "sismic") -> None:
        self.semantics = semantics
        self.scxml = semantics == "scxml"
        self.states: dict[str, StateInfo] = {}
        self.order: list[StateInfo] = []
        self.duplicates: list[StateInfo] = []
        self.root = self._walk(statechart["root state"], (*base, "root state"), None)

    def _walk(self, raw: dict[str, Any], path: NodePath, parent: str | None) -> str:
        name = str(raw["name"])
        kind = raw.get("type")
        if kind is None:
            kind = ("orthogonal" if "parallel states" in raw
                    else "compound" if "states" in raw else "atomic")
        initials, memories = _names(raw.get("initial")), _names(raw.get("memory"))
        info = StateInfo(name, path, parent, kind, raw=raw,
                         initial=initials[0] if initials else None,
                         memory=memories[0] if memories else None,
                         initials=initials, memories=memories)
        if name in self.states:
            self.duplicates.append(info)
        else:
            self.states[name] = info
        self.order.append(info)
        for i, t in enumerate(raw.get("transitions") or []):
            targets = _names(t.get("target"))
            info.transitions.append(TransitionInfo(
                source=name, index=i, path=(*path, "transitions", i),
                target=targets[0] if targets else None, targets=targets,
                internal=t.get("type") == "internal",
                event=None if t.get("event") is None else str(t["event"]).strip(),
                guard=t.get("guard"), action=t.get("action"),
                priority=_priority(t.get("priority"))))
        key = "parallel states" if "parallel states" in raw else "states"
        for i, child in enumerate(raw.get(key) or []):
            info.children.append(self._walk(child, (*path, key, i), name))
        return name

    def transitions(self) -> Iterator[TransitionInfo]:
        for state in self.order:
            yield from state.transitions

    def ancestors(self, name: str) -> list[str]:
        out, parent = [], self.states[name].parent
        while parent is not None:
            out.append(parent)
            parent = self.states[parent].parent
        return out

    def is_descendant(self, name: str, of: str) -> bool:
        return of in self.ancestors(name)

    # -- checks ------------------------------------------------------------------------------

    def structure(self) -> list[Finding]:
        """Problems that stop the chart from being built: AK202, AK203, AK204, AK209, AK201."""
        out: list[Finding] = []
        for dup in self.duplicates:
            out.append(Finding("AK202", (*dup.path, "name"),
                               f"state name {dup.name!r} is used twice; state names are global "
                               f"in a statechart: rename one of them",
                               other=(*self.states[dup.name].path, "name")))
        for state in self.order:
            out.extend(self._state_structure(state))
        for t in self.transitions():
            listed = isinstance(self.raw_of(t).get("target"), list)
            for i, target in enumerate(t.targets):
                if target not in self.states:
                    out.append(Finding("AK203", (*t.path, "target", *((i,) if listed else ())),
                                       f"transition targets unknown state {target!r}"
                                       f"{self._did_you_mean(target)}"))
        out.extend(scxml_structure(self) if self.scxml else sismic_refusals(self))
        return out

    def raw_of(self, t: TransitionInfo) -> dict[str, Any]:
        """The transition's own mapping in the chart document."""
        return self.states[t.source].raw["transitions"][t.index]  # type: ignore[no-any-return]

    def _did_you_mean(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.states), n=1)
        return f": did you mean {close[0]!r}?" if close else ": add the state or fix the name"

    def _meant(self, name: str) -> str:
        """``name``, or for a misspelt state name the state AK203/AK204 suggests instead."""
        if name in self.states:
            return name
        close = difflib.get_close_matches(name, list(self.states), n=1)
        return close[0] if close else name

    def _state_structure(self, s: StateInfo) -> Iterator[Finding]:
        if s.initial is not None and (self.scxml or len(s.initials) == 1):
            if s.kind != "compound":
                yield Finding("AK204", (*s.path, "initial"),
                              f"`initial` has no effect on {s.kind} state {s.name!r}: only a "
                              f"state with `states` uses it; remove it")
            elif self.scxml:
                listed = isinstance(s.raw.get("initial"), list)
                for i, name in enumerate(s.initials):
                    if name not in self.states or not self.is_descendant(name, s.name):
                        yield Finding("AK204", (*s.path, "initial", *((i,) if listed else ())),
                                      f"initial state {name!r} of {s.name!r} is not a state "
                                      f"inside it: name one of its descendants")
            elif s.initial not in s.children:
                where = ("is not a state" if s.initial not in self.states
                         else "is not a direct child of it")
                close = difflib.get_close_matches(s.initial, s.children, n=1)
                fix = (f"did you mean {close[0]!r}?" if close else
                       f"name one of {', '.join(repr(c) for c in s.children) or 'its children'}")
                yield Finding("AK204", (*s.path, "initial"),
                              f"initial state {s.initial!r} of {s.name!r} {where}: {fix}")
        if s.kind.endswith("history"):
            parent = self.states.get(s.parent) if s.parent else None
            if parent is None:
                yield Finding("AK201", (*s.path, "type"),
                              f"history state {s.name!r} cannot be the root state: put it "
                              f"inside a compound state")
            elif parent.kind == "orthogonal" and not self.scxml:
                yield Finding("AK201", (*s.path, "type"),
                              f"history state {s.name!r} cannot be a region of parallel state "
                              f"{parent.name!r}: put it inside a compound state, or set "
                              f"`semantics: scxml`, where history may sit in a parallel state")
            if self.scxml:
                yield from scxml_memory(self, s)
            elif s.memory is not None and len(s.memories) == 1 and not deeper_default(self, s) and (
                    s.memory == s.name or s.memory not in self.states
                    or self.states[s.memory].parent != s.parent):
                siblings = [c for c in (parent.children if parent else [])
                            if c != s.name and not self.states[c].kind.endswith("history")]
                yield Finding("AK209", (*s.path, "memory"),
                              f"memory {s.memory!r} of history state {s.name!r} must be one of "
                              f"its sibling states: name "
                              f"{' or '.join(repr(c) for c in siblings) or 'a sibling state'}")
        elif s.memory is not None:
            yield Finding("AK209", (*s.path, "memory"),
                          f"`memory` only applies to history states; remove it from {s.name!r}")
        if s.kind == "final" and s.parent == self.root and self.states[self.root].kind == \
                "orthogonal":
            yield Finding("AK201", (*s.path, "type"),
                          f"final state {s.name!r} is a region of the parallel root: sismic "
                          f"ends the actor as soon as it enters it, at start; make the root a "
                          f"compound state with the parallel state and {s.name!r} inside it")
        if s.transitions and (s.kind == "final" or s.kind.endswith("history")):
            yield Finding("AK201", (*s.path, "transitions"),
                          f"{s.kind} state {s.name!r} cannot have transitions (sismic refuses "
                          f"them): move them to its parent")
        if s.kind in ("final",) or s.kind.endswith("history"):
            for key in ("states", "parallel states"):
                if s.raw.get(key):
                    yield Finding("AK201", (*s.path, key),
                                  f"{s.kind} state {s.name!r} cannot have children")

    def behaviour(self, schemas: ActorSchemas | None, sent: dict[str, Sent]) -> list[Finding]:
        """Problems in how the chart behaves: AK205, AK206, AK208, AK210, AK211, AK212,
        AK301, AK302, AK303."""
        out: list[Finding] = []
        if not self.scxml:  # SCXML enters a compound state's first child by default
            out.extend(self._no_initial())
        out.extend(self._unreachable())
        if self.scxml:
            # SCXML enters every region, lets a transition cross regions and picks the first
            # enabled transition in document order: AK208, AK211 and AK212 do not apply.
            out.extend(scxml_behaviour(self))
        else:
            out.extend(self._partial_parallel_entries())
            out.extend(self._nondeterministic())
        out.extend(self._eventless_loops())
        out.extend(self._events(schemas, sent))
        return out

    def _default_entries(self) -> set[str]:
        """States entered "by default", i.e. not just as an ancestor of an explicit target."""
        out = {self.root}
        for s in self.order:
            if s.kind == "compound" and s.initial:
                out.update(s.initials)
            if s.kind == "orthogonal":
                out.update(s.children)
            out.update(s.memories)
        out.update(target for t in self.transitions() for target in t.targets)
        return out

    def _no_initial(self) -> Iterator[Finding]:
        for name in sorted(self._default_entries() & set(self.states)):
            s = self.states[name]
            if s.kind == "compound" and not s.initial and s.children:
                yield Finding("AK205", (*s.path, "name"),
                              f"compound state {name!r} is entered by default but has no "
                              f"`initial`: it would stay empty; add `initial: "
                              f"{s.children[0]}` (or one of its other children)")

    def reachable(self) -> set[str]:
        """States some run can enter (an over-approximation: guards are assumed passable)."""
        seen: set[str] = set()

        def enter(name: str) -> None:
            if name in seen or name not in self.states:
                return
            seen.add(name)
            s = self.states[name]
            for anc in self.ancestors(name):
                enter(anc)
            if s.kind == "compound" and s.initial:
                for name in s.initials:
                    enter(self._meant(name))
            elif s.kind == "compound" and self.scxml:  # its first child, by default
                first = [c for c in s.children if not self.states[c].kind.endswith("history")]
                for c in first[:1]:
                    enter(c)
            elif s.kind == "compound":  # no `initial` (AK205): any child might be meant
                for c in s.children:
                    if not self.states[c].kind.endswith("history"):
                        enter(c)
            if s.kind == "orthogonal":
                for c in s.children:
                    enter(c)
            for name in s.memories:
                enter(self._meant(name))

        enter(self.root)
        changed = True
        while changed:
            before = len(seen)
            for t in self.transitions():
                if t.source in seen:
                    for target in t.targets:
                        enter(self._meant(target))
            changed = len(seen) != before
        return seen

    def _unreachable(self) -> Iterator[Finding]:
        reach = self.reachable()
        for s in self.order:
            if s.name not in reach and s.name in self.states and self.states[s.name] is s:
                # Report only the outermost unreachable state, not each of its descendants.
                parent = s.parent
                if parent is not None and parent not in reach:
                    continue
                hint = ("make it the `initial` of its parent or the target of a transition"
                        if not s.kind.endswith("history") else "target it from a transition")
                yield Finding("AK206", (*s.path, "name"),
                              f"state {s.name!r} can never be entered: {hint}")

    def _nondeterministic(self) -> Iterator[Finding]:
        for s in self.order:
            seen: dict[tuple[str | None, int], TransitionInfo] = {}
            guarded: dict[tuple[str | None, int], TransitionInfo] = {}
            # sismic tries lower priorities only when no higher one is enabled: below a
            # transition without a guard, none is ever tried, so none can clash.
            top: dict[str | None, int] = {}
            for t in s.transitions:
                if t.guard is None:
                    top[t.event] = max(top.get(t.event, t.priority), t.priority)
            for t in s.transitions:
                key = (t.event, t.priority)
                if t.priority < top.get(t.event, t.priority):
                    continue
                if t.guard is not None:
                    guarded.setdefault(key, t)
                    continue
                what = f"event {t.event!r}" if t.event else "no event"
                if key in seen:
                    yield Finding("AK208", t.path,
                                  f"state {s.name!r} has two transitions on {what} without a "
                                  f"guard (the other is transition #{seen[key].index + 1}): sismic "
                                  f"cannot choose; add a guard or a `priority`")
                else:
                    seen[key] = t
            for key, t in seen.items():
                other = guarded.get(key)
                if other is not None:
                    what = f"event {t.event!r}" if t.event else "no event"
                    yield Finding("AK208", t.path,
                                  f"transition #{t.index + 1} of state {s.name!r} on {what} has "
                                  f"no guard, so whenever the guard of transition "
                                  f"#{other.index + 1} holds both are enabled and sismic cannot "
                                  f"choose: give this one `priority: low` to make it the "
                                  f"fallback, or a guard of its own")

    def _eventless_loops(self) -> Iterator[Finding]:
        for t in self.transitions():
            if t.event is None and t.guard is None and (
                t.target is None or t.target == t.source or (
                    t.target in self.states and self.is_descendant(t.target, t.source))):
                yield Finding("AK210", t.path,
                              f"transition from {t.source!r} has no event and no guard and stays "
                              f"in {t.source!r}: it fires forever; give it an event or a guard")
        yield from self._eventless_cycles()

    def _eventless_cycles(self) -> Iterator[Finding]:
        """Atomic states that pass control around in a circle on eventless, guard-less
        transitions (A -> B -> A): each is the only eventless transition of its state, so
        nothing can break the circle."""
        step: dict[str, TransitionInfo] = {}
        for s in self.order:
            eventless = [t for t in s.transitions if t.event is None]
            if (s.kind == "atomic" and len(eventless) == 1 and eventless[0].guard is None
                    and eventless[0].target in self.states
                    and eventless[0].target != s.name
                    and self.states[eventless[0].target].kind == "atomic"):
                step[s.name] = eventless[0]
        reported: set[str] = set()
        for s in self.order:
            path, name = [], s.name
            while name in step and name not in path and name not in reported:
                path.append(name)
                name = str(step[name].target)
            if name in path:
                loop = path[path.index(name):]
                reported.update(loop)
                circle = " -> ".join(repr(n) for n in [*loop, loop[0]])
                yield Finding("AK210", step[loop[0]].path,
                              f"transitions with no event and no guard go {circle} forever: "
                              f"give one of them an event or a guard")
            reported.update(path)

    def _partial_parallel_entries(self) -> Iterator[Finding]:
        for t in self.transitions():
            if t.target is None or t.target not in self.states or t.source not in self.states:
                continue
            above_source = {t.source, *self.ancestors(t.source)}
            child = t.target
            for state in self.ancestors(t.target):
                if state in above_source:
                    # the transition starts inside this state: nothing above is entered
                    side = next((a for a in [t.source, *self.ancestors(t.source)]
                                 if self.states[a].parent == state), None)
                    # Within the source's own region (even to the region itself) sismic
                    # exits and enters inside that region only: nothing is left behind.
                    if self.states[state].kind == "orthogonal" and state != t.source \
                            and side != child:
                        yield Finding("AK212", (*t.path, "target"),
                                      f"transition from {t.source!r} to {t.target!r} crosses "
                                      f"from region {side!r} to region {child!r} of parallel "
                                      f"state {state!r}: sismic leaves {child!r} with two "
                                      f"active states; send an event that region handles "
                                      f"instead, or target a state outside {state!r}")
                    break
                info = self.states[state]
                others = [c for c in info.children if c != child]
                if info.kind == "orthogonal" and others:
                    yield Finding("AK211", (*t.path, "target"),
                                  f"transition to {t.target!r} enters parallel state {state!r} "
                                  f"through its region {child!r} only: sismic leaves "
                                  f"{', '.join(repr(o) for o in others)} inactive: target "
                                  f"{state!r} itself, so each region starts at its initial "
                                  f"state")
                    break
                child = state

    def handles(self, name: str) -> bool:
        """Whether some transition waits for the event ``name`` (under ``scxml``: some
        descriptor matches it)."""
        if not self.scxml:
            return any(t.event == name for t in self.transitions())
        return any(matches_any(descriptors(t.event), name) for t in self.transitions())

    def _events(self, schemas: ActorSchemas | None, sent: dict[str, Sent],
                ) -> Iterator[Finding]:
        handled = sorted({d for t in self.transitions() for d in (
            descriptors(t.event) if self.scxml else (t.event,)) if d is not None})
        for name, where in sorted(sent.items()):
            if not self.handles(name):
                close = difflib.get_close_matches(name, handled, n=1)
                fix = (f"did you mean {close[0]!r}?" if close
                       else "add a transition for it or stop sending it")
                yield Finding("AK303", where.node or (), f"event {name!r} is sent by the chart "
                              f"but no transition handles it, so it is dropped: {fix}",
                              in_hooks=None if where.node else (where.line, where.column))
        if schemas is None:
            return  # the schemas file could not be read: AK105 (or AK001) says why
        names = set(schemas.client) | set(schemas.service) | set(schemas.actor) | \
            set(schemas.internal)
        declared = set(SYSTEM_EVENTS) | set(sent) | names | schemas.invalid_events
        for t in self.transitions():
            if t.event is None:
                continue
            waits = descriptors(t.event) if self.scxml else (t.event,)
            for event in waits:
                if event in declared or (self.scxml and fed(self, event, declared)):
                    continue
                close = difflib.get_close_matches(event, sorted(names), n=1)
                fix = f"did you mean {close[0]!r}? If not, declare it" if close else "declare it"
                if schemas.path:
                    fix += (f" under `client:` or `service:` in {schemas.path} (or under "
                            f"`internal:` if a hook sends it under a computed name)")
                else:
                    fix += (" in a schemas file: add `schemas: schemas/<actor>.yaml` to the chart "
                            "and declare it there under `client:` or `service:`")
                what = ("matches no event the schemas declare or the chart sends"
                        if self.scxml else "is not declared and the chart does not send it")
                yield Finding("AK301", (*t.path, "event"),
                              f"event {event!r} {what}: {fix}")
        for section in ("client", "service", "actor"):
            for name in getattr(schemas, section):
                if not self.handles(name):
                    yield Finding("AK302", ("schemas", section, name),
                                  f"{section} event {name!r} is declared but no transition "
                                  f"handles it: add a transition or remove the declaration")


@dataclass(frozen=True)
class Sent:
    """Where the chart sends an event to itself: a piece of inline code (``node``) or a line
    of the hooks module (``line``, ``column``)."""

    node: NodePath | None = None
    line: int = 0
    column: int = 0


def _called_names(tree: ast.AST, accept: Callable[[ast.expr], bool],
                  ) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and node.args and accept(node.func)
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.args[0].value, node


def _is_inline_send(func: ast.expr) -> bool:
    return isinstance(func, ast.Name) and func.id == "send"


def _is_ctx_send(func: ast.expr) -> bool:
    return isinstance(func, ast.Attribute) and func.attr in ("send", "schedule")


def sent_event_names(inline_code: Iterable[tuple[NodePath, str]], hooks_source: str | None,
                     ) -> dict[str, Sent]:
    """Event names the chart sends itself, with where the first send of each is:
    ``send('X')`` in inline code and ``ctx.send("X")``/``ctx.schedule("X")`` in the hooks
    module (literal names only)."""
    names: dict[str, Sent] = {}
    for where, code in inline_code:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for name, _ in _called_names(tree, lambda f: _is_inline_send(f) or _is_ctx_send(f)):
            names.setdefault(name, Sent(node=where))
    if hooks_source:
        with contextlib.suppress(SyntaxError):
            for name, call in _called_names(ast.parse(hooks_source), _is_ctx_send):
                names.setdefault(name, Sent(line=call.lineno, column=call.col_offset + 1))
    return names
