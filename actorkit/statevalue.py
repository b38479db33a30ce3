"""State values in XState's shape, so Actor Kit's JavaScript ``matchesState``/``useMatches`` work.

The value of a configuration omits the root: a compound state whose active child is atomic
gives the child's name (``"Ready"``), a compound child gives ``{"Open": "Bidding"}``, and a
parallel state gives one entry per region (``{"Lot": "Open", "Chat": {}}``, an atomic region
being ``{}``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sismic.model import OrthogonalState, Statechart

__all__ = ["StateValue", "matches_state", "state_value"]

StateValue = str | dict[str, Any]


def state_value(statechart: Statechart, configuration: Collection[str]) -> StateValue:
    """The XState state value of an active ``configuration`` of ``statechart``."""
    root = statechart.root
    if root is None or root not in configuration:
        return {}
    return _value(statechart, root, configuration)


def _value(sc: Statechart, name: str, config: Collection[str]) -> StateValue:
    active = [c for c in sc.children_for(name) if c in config]
    if isinstance(sc.state_for(name), OrthogonalState):
        return {c: _value(sc, c, config) for c in sorted(active)}
    if not active:
        return {}
    child: str = active[0]
    if not sc.children_for(child):
        return child
    return {child: _value(sc, child, config)}


def _normalise(value: StateValue) -> StateValue:
    if isinstance(value, str) and "." in value:
        head, _, rest = value.partition(".")
        return {head: _normalise(rest)}
    return value


def matches_state(parent: StateValue, child: StateValue) -> bool:
    """XState's ``matchesState(parent, child)``: does state value ``child`` lie within
    ``parent``? A string matches exactly (``"a.b"`` is read as ``{"a": "b"}``), an object
    matches partially, and every listed region of a parallel state must match."""
    parent, child = _normalise(parent), _normalise(child)
    if isinstance(child, str):
        return isinstance(parent, str) and parent == child
    if isinstance(parent, str):
        return parent in child
    return all(key in child and matches_state(sub, child[key]) for key, sub in parent.items())
