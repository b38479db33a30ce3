"""A statechart under ``semantics: scxml``: sismic's model, built from the chart's
``statechart`` section with the keys sismic's importer lacks (several targets, internal
transitions, several initial or default history states, history in a parallel state), and the
tree facts the SCXML algorithm asks for on every step, computed once per chart.

The states are sismic's own classes and the transitions a :class:`Transition` subclass, so
every tool that reads a sismic statechart (graph, coverage, state values) reads this one too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sismic.io.datadict import _import_state_from_dict, _import_transition_from_dict
from sismic.model import (
    CompoundState,
    DeepHistoryState,
    FinalState,
    OrthogonalState,
    ShallowHistoryState,
    Statechart,
    Transition,
)

from .descriptors import descriptors, matches_any
from .engine import FrozenStatechart, freeze

__all__ = ["ScxmlStatechart", "ScxmlTransition", "Tree", "build", "names"]


def names(value: Any) -> tuple[str, ...]:
    """A state name or a list of them (``target:``, ``initial:``, ``memory:``) as a tuple."""
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return (str(value),)


class ScxmlTransition(Transition):  # type: ignore[misc]
    """A sismic ``Transition`` with all its targets (``target`` is the first one), its
    ``type`` (internal or external) and its event descriptors."""

    def __init__(self, base: Transition, targets: tuple[str, ...], internal: bool,
                 order: int) -> None:
        super().__init__(base.source, targets[0] if targets else None, base.event, base.guard,
                         base.action, base.priority)
        self.preconditions = base.preconditions
        self.postconditions = base.postconditions
        self.invariants = base.invariants
        self.targets = targets
        self.internal_type = internal
        self.descriptors = descriptors(base.event)
        #: place in the document, across all states
        self.order = order

    def takes(self, name: str) -> bool:
        """Whether an event called ``name`` matches one of this transition's descriptors."""
        return matches_any(self.descriptors, name)


class Tree:
    """What the SCXML algorithm asks of the state tree, each answered by a lookup."""

    def __init__(self, sc: Statechart, order: list[str],
                 initials: Mapping[str, tuple[str, ...]],
                 defaults: Mapping[str, tuple[str, ...]]) -> None:
        self.root: str = order[0]
        #: document order of each state
        self.doc = {name: i for i, name in enumerate(order)}
        self.parent: dict[str, str | None] = dict(sc._parent)
        states = sc._states
        self.parallel = frozenset(n for n, s in states.items() if isinstance(s, OrthogonalState))
        self.compound = frozenset(n for n, s in states.items() if isinstance(s, CompoundState))
        self.final = frozenset(n for n, s in states.items() if isinstance(s, FinalState))
        self.deep = frozenset(n for n, s in states.items() if isinstance(s, DeepHistoryState))
        self.history = self.deep | frozenset(
            n for n, s in states.items() if isinstance(s, ShallowHistoryState))
        #: child states in document order, history states left out (SCXML's getChildStates)
        self.children = {n: tuple(c for c in sc._children[n] if c not in self.history)
                         for n in order}
        #: history children of each state
        self.histories = {n: tuple(c for c in sc._children[n] if c in self.history)
                          for n in order}
        #: proper ancestors, innermost first
        self.ancestors: dict[str, tuple[str, ...]] = {}
        for name in order:
            up, p = [], self.parent[name]
            while p is not None:
                up.append(p)
                p = self.parent[p]
            self.ancestors[name] = tuple(up)
        self.above = {n: frozenset(a) for n, a in self.ancestors.items()}
        self.atomic = frozenset(n for n in order if not self.children[n]
                                and n not in self.history)
        #: a compound state's initial states (its first child when it names none)
        self.initial = {n: tuple(initials.get(n) or self.children[n][:1])
                        for n in self.compound}
        #: a history state's default states (its parent's default entry when it names none)
        self.defaults = dict(defaults)
        #: transitions of each state in document order
        self.transitions: dict[str, tuple[ScxmlTransition, ...]] = dict.fromkeys(order, ())
        for t in sc._transitions:
            self.transitions[t.source] += (t,)

    def is_descendant(self, name: str, of: str | None) -> bool:
        """Whether ``name`` is strictly below ``of`` (``None``: the document, above the
        root)."""
        return of is None or of in self.above[name]

    def sort(self, names: Iterable[str], *, reverse: bool = False) -> list[str]:
        return sorted(names, key=self.doc.__getitem__, reverse=reverse)


class ScxmlStatechart(FrozenStatechart):
    """A frozen statechart run under ``semantics: scxml``, with its :class:`Tree`."""

    tree: Tree


def build(raw: Mapping[str, Any]) -> ScxmlStatechart:
    """The statechart section ``raw`` (already checked) as a :class:`ScxmlStatechart`: states
    and transitions added in document order, without the limits of sismic's importer."""
    sc = Statechart(name=str(raw["name"]), description=raw.get("description"),
                    preamble=raw.get("preamble"))
    order: list[str] = []
    initials: dict[str, tuple[str, ...]] = {}
    defaults: dict[str, tuple[str, ...]] = {}
    count = 0

    def walk(node: Mapping[str, Any], parent: str | None) -> None:
        nonlocal count
        plain = {k: _code(v) if k in ("on entry", "on exit") else v for k, v in node.items()
                 if k not in ("states", "parallel states", "transitions")}
        plain["name"] = name = str(node["name"])
        for key, store in (("initial", initials), ("memory", defaults)):
            if node.get(key) is not None:
                store[name] = names(node[key])
                plain[key] = store[name][0]
        kids = node.get("states") or node.get("parallel states") or []
        if kids:
            plain["parallel states" if "parallel states" in node else "states"] = [{}]
        state = _import_state_from_dict(plain)
        # sismic's add_state, without its refusal of a history state in a parallel state
        sc._states[name] = state
        sc._parent[name] = parent
        sc._children[name] = []
        sc._children[parent].append(name)
        order.append(name)
        for child in kids:
            walk(child, name)
        for t in node.get("transitions") or []:
            flat = {k: _code(v) if k == "action" else v for k, v in t.items()
                    if k not in ("target", "type")}
            for key in ("event", "guard"):
                if flat.get(key) is not None:
                    flat[key] = str(flat[key])
            targets = names(t.get("target"))
            sc._transitions.append(ScxmlTransition(
                _import_transition_from_dict(name, flat), targets,
                t.get("type") == "internal", count))
            count += 1

    walk(raw["root state"], None)
    frozen = freeze(sc)
    frozen.__class__ = ScxmlStatechart
    scxml: ScxmlStatechart = frozen
    scxml.tree = Tree(sc, order, initials, defaults)
    return scxml


def _code(value: Any) -> Any:
    return "\n".join(value) if isinstance(value, list) else value
