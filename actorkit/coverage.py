"""Coverage of a chart: which states were entered and which transitions fired, how often.

``actorkit test --coverage FILE`` writes it and ``actorkit graph --coverage FILE`` colours a
diagram with it, so both name states and transitions with this module. The file is JSON::

    {"charts": {"<actor type>": {
        "states": {"<state name>": <times entered>, ...},
        "transitions": {"<key>": <times fired>, ...}}}}

with every state and every transition of the chart, 0 for those never reached. A
transition's key is :func:`transition_key`: ``"<source> -> <target> on <event>#<index>"``,
where an internal transition's target is its source, an eventless one's event is empty
(``"Check -> Won on #0"``), and the index is the transition's place in the list of its source
state's transitions, in chart order (sismic's ``transitions_from``), so two transitions that
differ only in guard or action have two keys.

This module imports nothing of the server or the tester: it is the format, and counting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sismic.model import MacroStep, Statechart, Transition

from .graph import transition_key as graph_key

__all__ = ["Coverage", "transition_key", "transition_keys", "write_coverage"]


def transition_key(transition: Transition, index: int) -> str:
    """The name of ``transition``, the ``index``-th of its source state's, in a coverage
    file: ``"Lobby -> Playing on JOIN#1"`` (as :func:`actorkit.graph.transition_key`
    names it in a chart's graph)."""
    return graph_key(transition.source, transition.target, transition.event, index)


def transition_keys(statechart: Statechart) -> list[tuple[Transition, str]]:
    """Every transition of ``statechart`` with its key, state by state (sorted by name),
    each state's in chart order."""
    return [(t, transition_key(t, i)) for name in statechart.states
            for i, t in enumerate(statechart.transitions_from(name))]


@dataclass
class Coverage:
    """The states entered and transitions fired in one chart's runs, by name and key (every
    one of the chart's, 0 until reached). :meth:`count` adds the macro steps of a committed
    step; ``+=`` adds another coverage of the same chart."""

    actor_type: str
    states: dict[str, int] = field(default_factory=dict)
    transitions: dict[str, int] = field(default_factory=dict)
    #: id() of each transition object -> its key (sismic's transitions are unhashable)
    _keys: dict[int, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, actor_type: str, statechart: Statechart) -> Coverage:
        """An empty coverage of ``statechart``: every state and transition at 0."""
        pairs = transition_keys(statechart)
        return cls(actor_type, dict.fromkeys(statechart.states, 0),
                   dict.fromkeys((key for _, key in pairs), 0),
                   {id(t): key for t, key in pairs})

    def count(self, steps: Iterable[MacroStep]) -> None:
        """Add what ``steps`` did: each state they entered, each transition they took."""
        states, transitions, keys = self.states, self.transitions, self._keys
        for macro in steps:
            for micro in macro.steps:
                for name in micro.entered_states:
                    states[name] = states.get(name, 0) + 1
                if micro.transition is not None:
                    key = keys[id(micro.transition)]
                    transitions[key] = transitions.get(key, 0) + 1

    def fired(self, transition: Transition) -> int:
        """How often ``transition`` (one of the chart's) fired."""
        return self.transitions[self._keys[id(transition)]]

    def __iadd__(self, other: Coverage) -> Coverage:
        for mine, theirs in ((self.states, other.states),
                             (self.transitions, other.transitions)):
            for key, times in theirs.items():
                mine[key] = mine.get(key, 0) + times
        return self

    def blank(self) -> Coverage:
        """A coverage of the same chart with nothing reached yet."""
        return Coverage(self.actor_type, dict.fromkeys(self.states, 0),
                        dict.fromkeys(self.transitions, 0), self._keys)

    def copy(self) -> Coverage:
        """A coverage that counts on from this one without changing it."""
        return Coverage(self.actor_type, dict(self.states), dict(self.transitions), self._keys)

    @property
    def missed_states(self) -> list[str]:
        """The states never entered, by name."""
        return [name for name, times in self.states.items() if not times]

    @property
    def missed_transitions(self) -> list[str]:
        """The keys of the transitions never fired."""
        return [key for key, times in self.transitions.items() if not times]

    def summary(self) -> str:
        """``states 14/16, transitions 22/27``: reached out of all."""
        return (f"states {_reached(self.states)}/{len(self.states)}, "
                f"transitions {_reached(self.transitions)}/{len(self.transitions)}")

    def to_json(self) -> dict[str, Any]:
        """This chart's part of a coverage file: ``{"states": ..., "transitions": ...}``."""
        return {"states": dict(sorted(self.states.items())),
                "transitions": dict(self.transitions)}


def _reached(counts: Mapping[str, int]) -> int:
    return sum(1 for times in counts.values() if times)


def write_coverage(path: str | Path, coverages: Iterable[Coverage]) -> None:
    """Write a coverage file (the format above) for the charts of ``coverages``; two of one
    actor type are added together."""
    charts: dict[str, Coverage] = {}
    for coverage in coverages:
        if coverage.actor_type in charts:
            charts[coverage.actor_type] += coverage
        else:
            charts[coverage.actor_type] = coverage.copy()
    data = {"charts": {name: c.to_json() for name, c in sorted(charts.items())}}
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")

