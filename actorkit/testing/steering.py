"""Steering: send the events that lead towards what the runs so far have not reached.

A run that spends its steps on events whose transitions were taken a thousand times already
(leaving the game, joining the lobby again) rarely gets deep into a chart. :class:`Steering`
measures, for every transition, how many transitions away from it the nearest state never
entered or transition never fired lies (following the chart's structure, guards unknown),
and weighs each event the active states wait for by the nearest of its transitions. When
everything was reached, no event is preferred.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from sismic.model import (
    CompoundState,
    HistoryStateMixin,
    OrthogonalState,
    Statechart,
    Transition,
)

from ..coverage import Coverage
from ..descriptors import descriptors, matches_any

__all__ = ["Steering"]

#: How much more likely an event one transition nearer to something not reached is.
NEARER = 4.0


class Steering:
    """Weights of events in each configuration, from ``coverage`` (what was reached)."""

    def __init__(self, statechart: Statechart, coverage: Coverage) -> None:
        self.statechart = statechart
        self.scxml = hasattr(statechart, "tree")  # run under semantics: scxml
        transitions = statechart.transitions
        unreached = {name for name, times in coverage.states.items() if not times}
        # the states a transition may leave active, and those it may enter
        after: list[set[str]] = []
        entered: list[set[str]] = []
        for t in transitions:
            target = t.target if t.target is not None else t.source
            inside = _entry(statechart, target)
            entered.append(inside if t.target is not None else set())
            after.append(inside | set(statechart.ancestors_for(target)))
        distance = [0.0 if not coverage.fired(t) or entered[i] & unreached else math.inf
                    for i, t in enumerate(transitions)]
        by_source: dict[str, list[int]] = {}
        for i, t in enumerate(transitions):
            by_source.setdefault(t.source, []).append(i)
        changed = True
        while changed:  # shortest distances, a few passes for a chart's few transitions
            changed = False
            for i in range(len(transitions)):
                nearest = min((distance[j] for name in after[i] for j in by_source.get(name, ())),
                              default=math.inf)
                if nearest + 1 < distance[i]:
                    distance[i], changed = nearest + 1, True
        self._distance = {id(t): distance[i] for i, t in enumerate(transitions)}
        #: whether anything is left to reach at all
        self.active = any(d < math.inf for d in distance)
        self._near: dict[frozenset[str], dict[str | None, float]] = {}

    def weights(self, configuration: Collection[str], events: Sequence[str],
                ) -> list[float] | None:
        """A weight for each of ``events`` in ``configuration`` (higher: nearer to something
        not reached yet), or ``None`` when none of them leads anywhere new."""
        if not self.active:
            return None
        near = self._nearest(configuration)
        found = [self._near_for(near, e) for e in events]
        if all(d == math.inf for d in found):
            return None
        best = min(found)
        return [NEARER ** (best - d) if d < math.inf else NEARER ** -8 for d in found]

    def time_leads_away(self, configuration: Collection[str]) -> bool:
        """Whether, in ``configuration``, what time passing can fire (eventless transitions:
        ``after()``, ``idle()``) leads farther from anything not reached than some event."""
        if not self.active:
            return False
        near = self._nearest(configuration)
        timed = near.get(None, math.inf)
        return any(d < timed for e, d in near.items() if e is not None)

    def _near_for(self, near: dict[str | None, float], event: str) -> float:
        """The least distance of the transitions ``event`` takes (under ``semantics: scxml``,
        those with a descriptor that matches it)."""
        if not self.scxml:
            return near.get(event, math.inf)
        return min((d for e, d in near.items() if e is not None
                    and matches_any(descriptors(e), event)), default=math.inf)

    def _nearest(self, configuration: Collection[str]) -> dict[str | None, float]:
        """Per event (``None``: eventless), the least distance of its transitions from the
        states of ``configuration``."""
        key = frozenset(configuration)
        near = self._near.get(key)
        if near is None:
            near = self._near[key] = {}
            for name in key:
                for t in self.statechart.transitions_from(name):
                    near[t.event] = min(near.get(t.event, math.inf), self.distance(t))
        return near

    def distance(self, transition: Transition) -> float:
        """Transitions from ``transition`` to the nearest thing not reached (0: it is one, or
        it enters one), ``inf`` if nothing not reached lies beyond it."""
        return self._distance[id(transition)]


def _entry(statechart: Statechart, name: str) -> set[str]:
    """The states entering ``name`` enters: it, its initial state's, every region of a
    parallel state; for a history state, any state its parent holds (the memory is not
    known)."""
    state = statechart.state_for(name)
    if isinstance(state, HistoryStateMixin):
        parent = statechart.parent_for(name)
        return {name, *statechart.descendants_for(parent)} if parent else {name}
    found = {name}
    if isinstance(state, CompoundState) and state.initial is not None:
        found |= _entry(statechart, state.initial)
    elif isinstance(state, OrthogonalState):
        for child in statechart.children_for(name):
            found |= _entry(statechart, child)
    return found
