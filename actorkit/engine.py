"""sismic, tuned for actors: memoised tree queries, an event-aware interpreter, a settable clock.

sismic recomputes ancestors, descendants and depths by walking the state tree on every step
(see the profile in BENCHMARKS.md). A loaded chart never changes, so :func:`freeze` memoises
those queries on the shared ``Statechart``. :class:`ActorInterpreter` remembers which event the
current macro step consumed, so entry and exit hooks can receive it (sismic does not pass it).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sismic.clock import Clock
from sismic.interpreter import Interpreter
from sismic.model import (
    CompoundState,
    DeepHistoryState,
    Event,
    InternalEvent,
    MacroStep,
    MicroStep,
    ShallowHistoryState,
    Statechart,
    Transition,
)

__all__ = ["ActorInterpreter", "FrozenStatechart", "StepClock", "freeze"]


class FrozenStatechart(Statechart):  # type: ignore[misc]
    """A ``Statechart`` that will not change again, so its tree queries are memoised.

    Lists are copied on the way out: sismic's callers own what they get back.
    """

    _memo: dict[tuple[Any, ...], Any]
    #: transitions by source state, indexed for selection
    sources: dict[str, _Source]
    #: compound state -> its history children as (name, is_deep)
    histories: dict[str, tuple[tuple[str, bool], ...]]
    #: configurations known to need no stabilization step
    stable: set[frozenset[str]]
    #: (depth, name) of every state: the order of Interpreter.configuration
    sources_order: dict[str, tuple[int, str]]
    #: states with at least one eventless transition
    eventless_sources: frozenset[str]

    def _remember(self, key: tuple[Any, ...], compute: Any) -> Any:
        memo = self._memo
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = compute()
            return value

    def ancestors_for(self, name: str) -> list[str]:
        return list(self._remember(("a", name), lambda: Statechart.ancestors_for(self, name)))

    def descendants_for(self, name: str) -> list[str]:
        return list(self._remember(("d", name), lambda: Statechart.descendants_for(self, name)))

    def depth_for(self, name: str) -> int:
        return self._remember(("p", name), lambda: Statechart.depth_for(self, name))  # type: ignore[no-any-return]

    def least_common_ancestor(self, name_first: str, name_second: str) -> str | None:
        return self._remember(  # type: ignore[no-any-return]
            ("l", name_first, name_second),
            lambda: Statechart.least_common_ancestor(self, name_first, name_second))

    def leaf_for(self, names: Any) -> list[str]:
        key = frozenset(names)
        return list(self._remember(("f", key), lambda: Statechart.leaf_for(self, key)))

    @property
    def transitions(self) -> list[Any]:
        # sismic returns a fresh copy on each call (once per step); nobody mutates it.
        return self._transitions  # type: ignore[no-any-return]

    def _frozen(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a loaded actorkit chart is shared by its actors and cannot be changed")

    add_state = remove_state = rename_state = move_state = _frozen
    add_transition = remove_transition = rotate_transition = copy_from_statechart = _frozen


class _Source:
    """The transitions leaving one state, grouped the way sismic selects them: eventless ones
    apart, the others by event name, each as priority groups (highest first) that keep the
    statechart's order within a group."""

    __slots__ = ("eventless", "on", "order")

    def __init__(self, order: tuple[int, str], transitions: list[Transition]) -> None:
        self.order = order
        self.eventless = _by_priority([t for t in transitions if t.event is None])
        names = dict.fromkeys(t.event for t in transitions if t.event is not None)
        self.on = {n: _by_priority([t for t in transitions if t.event == n]) for n in names}


def _by_priority(transitions: list[Transition]) -> tuple[tuple[Transition, ...], ...]:
    levels = sorted({t.priority for t in transitions}, reverse=True)
    return tuple(tuple(t for t in transitions if t.priority == p) for p in levels)


def freeze(statechart: Statechart) -> FrozenStatechart:
    """Turn a freshly imported ``Statechart`` into a :class:`FrozenStatechart` (in place)."""
    statechart.__class__ = FrozenStatechart
    frozen: FrozenStatechart = statechart
    frozen._memo = {}
    sources: dict[str, list[Transition]] = {}
    for t in frozen._transitions:
        sources.setdefault(t.source, []).append(t)
    frozen.sources = {
        name: _Source((-Statechart.depth_for(frozen, name), name), ts)
        for name, ts in sources.items()
    }
    frozen.histories = {}
    for name in frozen._states:
        state = Statechart.state_for(frozen, name)
        if isinstance(state, CompoundState):
            kids = [Statechart.state_for(frozen, c) for c in frozen._children[name]]
            found = tuple((k.name, isinstance(k, DeepHistoryState)) for k in kids
                          if isinstance(k, DeepHistoryState | ShallowHistoryState))
            if found:
                frozen.histories[name] = found
    frozen.stable = set()
    frozen.sources_order = {
        name: (Statechart.depth_for(frozen, name), name) for name in frozen._states}
    frozen.eventless_sources = frozenset(n for n, s in frozen.sources.items() if s.eventless)
    return frozen


class StepClock(Clock):  # type: ignore[misc]
    """A clock the actor sets before each step: every step runs at one known instant."""

    def __init__(self, time: float = 0.0) -> None:
        self.now = time

    @property
    def time(self) -> float:
        return self.now


class ActorInterpreter(Interpreter):  # type: ignore[misc]
    """An ``Interpreter`` that knows the event its current macro step consumed and the
    earliest ``after()``/``idle()`` deadline its guards were waiting for."""

    current_event: Event | None = None

    @property
    def configuration(self) -> list[str]:
        # sismic sorts by (depth, name) through depth_for() on every call (each step checks
        # invariants over it); the frozen chart has the keys ready.
        order = self._statechart.sources_order
        return sorted(self._configuration, key=order.__getitem__)
    #: Earliest time a time-based guard evaluated in the latest macro step becomes true.
    wakeup: float | None = None

    def execute_once(self) -> MacroStep | None:
        self.current_event = None
        self.wakeup = None
        if self._listeners or not self._ignore_contract:
            return super().execute_once()
        # The same macro step as sismic's, minus what only listeners and contracts use
        # (meta-events, invariant checks): about a third of a step's cost.
        self._time = self.clock.time
        self._sent_events.clear()
        steps = self._compute_steps()
        if not steps:
            return None
        if steps[0].event is not None:
            self._select_event(consume=True)
        executed = []
        for step in steps:
            executed.append(self._apply_step(step))
            executed.extend(self._stabilize())
        return MacroStep(time=self._time, steps=executed)

    def _apply_step(self, step: MicroStep) -> MicroStep:
        if self._listeners or not self._ignore_contract:
            return super()._apply_step(step)
        sc = self._statechart
        evaluator = self._evaluator
        config = self._configuration
        now = self._time
        before = set(config) if step.exited_states else config
        sent: list[Event] = []
        for name in step.exited_states:
            state = sc._states[name]
            sent.extend(evaluator.execute_on_exit(state))
            for history, deep in sc.histories.get(name, ()):
                scope = sc.descendants_for(name) if deep else sc._children[name]
                memory = [s for s in scope if s in before]
                if len(memory) != 1 and not (deep and memory):
                    # sismic asserts the same: the configuration is broken (a transition
                    # entered a second child of a compound state).
                    raise AssertionError(f"cannot record history {history!r}: {name!r} has "
                                         f"{len(memory)} active children")
                self._memory[history] = memory
            config.remove(name)
        transition = step.transition
        if transition is not None:
            sent.extend(evaluator.execute_action(transition, step.event))
            self._idle_time[transition.source] = now
        for name in step.entered_states:
            sent.extend(evaluator.execute_on_entry(sc._states[name]))
            config.add(name)
            self._entry_time[name] = now
            self._idle_time[name] = now
        for event in sent:
            if isinstance(event, InternalEvent):
                self._queue_event(event)
            self._sent_events.append(event)
        return MicroStep(event=step.event, transition=transition,
                         entered_states=step.entered_states, exited_states=step.exited_states,
                         sent_events=sent)

    def _create_stabilization_step(self, names: Collection[str]) -> MicroStep | None:
        # Whether a configuration is stable depends on nothing else: remember the stable ones.
        key = frozenset(names)
        stable = self._statechart.stable
        if key in stable:
            return None
        step = super()._create_stabilization_step(names)
        if step is None and len(stable) < 4096:
            stable.add(key)
        return step

    def _queue_event(self, event: Event) -> None:
        # sismic bisects a keyed view of the queue for every event. One due no earlier than
        # the last one queued (nearly always: the queue is empty) goes at the end, which is
        # where that bisection puts it.
        internal = isinstance(event, InternalEvent)
        queue = self._internal_queue if internal else self._external_queue
        due = self.time + getattr(event, "delay", 0)
        if queue:
            last_due, last = queue[-1]
            if (last_due, not isinstance(last, InternalEvent)) > (due, not internal):
                super()._queue_event(event)
                return
        queue.append((due, event))

    def _select_event(self, *, consume: bool = False) -> Event | None:
        now = self.time
        for queue in (self._internal_queue, self._external_queue):
            if queue:
                due, event = queue[0]
                if due <= now:
                    if consume:
                        queue.pop(0)
                        self.current_event = event
                    return event
        if consume:
            self.current_event = None
        return None

    def _select_transitions(self, event: Event | None, states: Collection[str], *,
                            eventless_first: bool = True, inner_first: bool = True,
                            ) -> list[Transition]:
        """sismic's selection (eventless first, inner first, then source name, then priority),
        driven by a per-state index instead of scanning and regrouping every transition of
        the chart on every step."""
        if not (eventless_first and inner_first):
            return super()._select_transitions(  # type: ignore[no-any-return]
                event, states, eventless_first=eventless_first, inner_first=inner_first)
        index = self._statechart.sources
        active = sorted((index[s] for s in states if s in index), key=lambda s: s.order)
        if not active:
            return []
        selected = self._select(active, None, None)
        name = getattr(event, "name", None)
        if selected or name is None:
            return selected
        return self._select(active, name, event)

    def _select(self, active: list[Any], name: str | None, event: Event | None,
                ) -> list[Transition]:
        selected: list[Transition] = []
        ignored: set[str] = set()
        guard = self._evaluator.evaluate_guard
        for source in active:
            state = source.order[1]
            if state in ignored:
                continue
            groups = source.eventless if name is None else source.on.get(name)
            if not groups:
                continue
            for group in groups:
                found = [t for t in group if t.guard is None or guard(t, event)]
                if found:
                    selected.extend(found)
                    ignored.update(self._statechart.ancestors_for(state))
                    ignored.add(state)
                    break
        return selected

    def takes(self, event: Event) -> bool:
        """Whether ``event``, if it were next, would take at least one transition of the
        current configuration: their guards are evaluated (at the clock's time), nothing is
        run and nothing changes but that time."""
        self._time = self.clock.time
        index = self._statechart.sources
        active = sorted((index[s] for s in self._configuration if s in index),
                        key=lambda s: s.order)
        return bool(self._select(active, event.name, event))

    def may_step(self) -> bool:
        """Whether another ``execute_once()`` could do anything: an event is due, or an active
        state has an eventless transition. When not, sismic's closing empty step is skipped."""
        now = self.clock.time
        for queue in (self._internal_queue, self._external_queue):
            if queue and queue[0][0] <= now:
                return True
        return not self._statechart.eventless_sources.isdisjoint(self._configuration)

    def note_deadline(self, due: float) -> None:
        """Called by time-based guards that are still false: wake the actor up at ``due``."""
        if self.wakeup is None or due < self.wakeup:
            self.wakeup = due
