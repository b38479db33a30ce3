"""A hypothesis state machine for any chart.

:func:`machine_for` builds a :class:`~hypothesis.stateful.RuleBasedStateMachine` whose rules
spawn the actor, send it valid events (mostly ones an active state can handle: a stream of any
declared event mostly hits nothing), let time pass so timers fire, send events that break their
schema, snapshot and restore, and connect and disconnect callers. A chart that takes messages
from other actors (``actor:`` in its schemas) gets them from the actors that may spawn it or
that the charts tested with it tell, and answers from the actors it told; what it tells
(``ctx.tell``) is delivered, or refused, in order. Every rule runs through a
:class:`~actorkit.testing.Harness`, which checks the chart's properties after each step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import hypothesis
import hypothesis.strategies as st
from hypothesis import Phase
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from ..chart import Chart
from ..coverage import Coverage
from ..descriptors import descriptors, matches_any
from ..events import Caller
from ..tells import tells_in
from .harness import Harness, Invariant, PropertyFailure, Step, as_chart, chart_source, named
from .steering import Steering
from .strategies import caller_pool, events, inputs, invalid_events

__all__ = ["ChartMachine", "MessagingMachine", "RunFailure", "machine_for"]

#: How long the machine lets pass, besides "until the next deadline".
WAITS = (1.0, 10.0, 60.0, 600.0, 3600.0)

#: How finely a steered send divides the weights of the events it chooses from.
STEPS = 1024

#: per caller type, the event types it may send, those the active states handle (``None`` if
#: none), and the events of each type
_Pools = tuple[st.SearchStrategy[str], st.SearchStrategy[str] | None,
               dict[str, st.SearchStrategy[dict[str, Any]]]]


class ChartMachine(RuleBasedStateMachine):
    """The state machine of one chart; make one with :func:`machine_for`."""

    chart: ClassVar[Chart]
    callers: ClassVar[tuple[Caller, ...]]
    checks: ClassVar[tuple[tuple[str, Invariant], ...]] = ()  # the user's invariants
    event_strategies: ClassVar[Mapping[str, st.SearchStrategy[dict[str, Any]]]] = {}
    leaks: ClassVar[bool] = True
    #: called with each new run's harness (the runner counts examples and keeps the last)
    on_run: ClassVar[Callable[[Harness], None] | None] = None
    senders: ClassVar[tuple[Caller, ...]]  # the callers that may send some event
    peers: ClassVar[Mapping[str, Chart]] = {}  # the charts tested with it, by actor type
    #: what every run so far reached (each run adds its own when it ends)
    coverage: ClassVar[Coverage]
    #: the weights of the events sends choose among (``None``: none preferred). Hypothesis
    #: needs a run to draw the same way whenever it repeats it, so it must not change during
    #: one hypothesis test: the runner sets it between the rounds of runs it makes.
    steering: ClassVar[Steering | None] = None
    _weights: ClassVar[list[float] | None] = None  # those of the send being drawn
    # per class: the events each active configuration handles, the strategies made so far
    _handled: ClassVar[dict[frozenset[str], frozenset[str]]]
    _made: ClassVar[dict[tuple[Any, ...], st.SearchStrategy[Any]]]

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        self.reached = cls.coverage.blank()  # this run's
        self.harness = Harness(cls.chart, callers=list(cls.callers), invariants=cls.checks,
                               leaks=cls.leaks, coverage=self.reached, peers=cls.peers)
        if cls.on_run is not None:
            cls.on_run(self.harness)

    def teardown(self) -> None:
        type(self).coverage += self.reached

    # -- rules ---------------------------------------------------------------------------------
    # Each rule draws once, from a strategy built once per class and situation: hypothesis
    # pays ~0.1 ms per `data.draw` and more to set up a strategy it has not seen, which would
    # be most of a run's time.

    @initialize(data=st.data())
    def spawn(self, data: st.DataObject) -> None:
        owner, given = data.draw(self._strategy(("spawn",), self._spawns), label="spawn")
        with self._reported():
            self.harness.spawn(owner, given or None)

    @precondition(lambda self: bool(self.senders))
    @rule(data=st.data())
    def send(self, data: st.DataObject) -> None:
        handled = self._handled_now()
        steering = self.steering
        type(self)._weights = None if steering is None else \
            steering.weights(self._active(), sorted(handled))
        caller, event = data.draw(self._strategy(("send", handled), lambda: self._sends(handled)),
                                  label="send")
        with self._reported():
            self.harness.send(caller, event)

    @rule(data=st.data())
    def wait(self, data: st.DataObject) -> None:
        actor = self.harness.actor
        assert actor is not None
        options: tuple[float, ...] = WAITS
        deadline = actor.next_deadline
        if deadline is not None:
            # just past the next deadline, in whole milliseconds so the report reads well
            options = (max(math.ceil((deadline - self.harness.clock.now) * 1000), 1) / 1000,
                       *WAITS)
            steering = self.steering
            if steering is not None and steering.time_leads_away(self._active()):
                # mostly too short for the deadline: what it fires leads away (a time-out)
                short = tuple(s for s in WAITS if self.harness.clock.now + s < deadline)
                if short and data.draw(st.integers(0, 9), label="short") < 9:
                    options = short
        seconds = data.draw(st.sampled_from(options), label="seconds")
        with self._reported():
            self.harness.wait(seconds)

    @precondition(lambda self: bool(self.senders))
    @rule(data=st.data())
    def send_invalid(self, data: st.DataObject) -> None:
        caller, event = data.draw(self._strategy(("invalid",), self._invalid), label="invalid")
        with self._reported():
            self.harness.send_invalid(caller, event)

    @rule()
    def restore(self) -> None:
        with self._reported():
            self.harness.restore()

    @rule(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        caller, closes = data.draw(self._strategy(("connect",), lambda: st.tuples(
            st.sampled_from(self.callers), st.booleans())), label="connect")
        with self._reported():
            if closes:
                self.harness.disconnect(caller)
            else:
                self.harness.connect(caller)

    @contextmanager
    def _reported(self) -> Iterator[None]:
        """A broken property leaves the rule as a :class:`RunFailure`, which reads as the
        run so far and a test that repeats it: what hypothesis prints under pytest."""
        try:
            yield
        except PropertyFailure as e:
            raise RunFailure(e, self.chart, self.harness.trace,
                             [chart_source(p) for p in self.peers.values()]) from None

    # -- strategies, made once per class -------------------------------------------------------

    def _strategy(self, key: tuple[Any, ...],
                  make: Callable[[], st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = make()
        return made

    def _spawns(self) -> st.SearchStrategy[tuple[Caller, Any]]:
        return st.tuples(st.sampled_from(self.callers), inputs(self.chart))

    def _sends(self, handled: frozenset[str]) -> st.SearchStrategy[tuple[Caller, Any]]:
        # the handled events in the order Steering.weights gives them weights
        order = sorted(handled)
        cls = type(self)

        def pools(caller_type: str) -> _Pools:
            declared = sorted(self.chart.schemas.events_for(caller_type))
            now = [e for e in declared if e in handled]
            return (st.sampled_from(declared), st.sampled_from(now) if now else None,
                    {e: self._events(caller_type, e) for e in declared})
        by_type = {t: pools(t) for t in {c.type for c in self.senders}}
        senders, tenths = st.sampled_from(self.senders), st.integers(0, 9)
        share = st.integers(0, STEPS - 1)

        @st.composite
        def send(draw: st.DrawFn) -> tuple[Caller, Any]:
            caller = draw(senders)
            declared, now, events_of = by_type[caller.type]
            # mostly what an active state can handle; now and then anything declared
            if now is None or draw(tenths) >= 8:
                return caller, draw(events_of[draw(declared)])
            weights = cls._weights
            if weights is None:
                return caller, draw(events_of[draw(now)])
            # steered: by weight, among the handled events this caller may send, the
            # heaviest first (hypothesis draws 0 most often, and shrinks towards it)
            mine = sorted(((e, w) for e, w in zip(order, weights, strict=True)
                           if e in events_of), key=lambda ew: -ew[1])
            point = draw(share) / STEPS * sum(w for _, w in mine)
            etype = mine[-1][0]
            for name, weight in mine:
                point -= weight
                if point < 0:
                    etype = name
                    break
            return caller, draw(events_of[etype])
        return send()

    def _invalid(self) -> st.SearchStrategy[tuple[Caller, Any]]:
        by_type = {t: invalid_events(self.chart, t) for t in {c.type for c in self.senders}}
        senders = st.sampled_from(self.senders)

        @st.composite
        def invalid(draw: st.DrawFn) -> tuple[Caller, Any]:
            caller = draw(senders)
            return caller, draw(by_type[caller.type])
        return invalid()

    def _events(self, caller_type: str, etype: str) -> st.SearchStrategy[dict[str, Any]]:
        custom = self.event_strategies.get(etype)
        if custom is None:
            return events(self.chart, caller_type, etype)
        return self._strategy(("event", etype), lambda: custom.map(
            lambda e: e if "type" in e else {"type": etype, **e}))

    # -- helpers -------------------------------------------------------------------------------

    def _active(self) -> list[str]:
        actor = self.harness.actor
        assert actor is not None
        return actor.configuration

    def _handled_now(self) -> frozenset[str]:
        active = frozenset(self._active())
        found = self._handled.get(active)
        if found is None:
            statechart = self.chart.statechart
            found = frozenset(
                t.event for name in active for t in statechart.transitions_from(name)
                if t.event is not None)
            if self.chart.semantics == "scxml":  # descriptors: the declared events they match
                waits = {d for e in found for d in descriptors(e)}
                found = frozenset(n for kind in ("client", "service")
                                  for n in self.chart.schemas.events_for(kind)
                                  if matches_any(waits, n))
            self._handled[active] = found
        return found


class MessagingMachine(ChartMachine):
    """The state machine of a chart that takes messages from other actors or tells them
    some: two more rules. (Only such charts have them: more rules change which runs a seed
    makes, and other charts' runs stay what they were.)"""

    @precondition(lambda self: bool(self.chart.schemas.actor) and bool(self.harness.told))
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        """An actor this one told something sends it an event of its ``actor:`` section."""
        caller = data.draw(st.sampled_from(self.harness.told), label="answerer")
        event = data.draw(self._strategy(("answer",), lambda: st.sampled_from(
            sorted(self.chart.schemas.actor)).flatmap(lambda e: self._events("actor", e))),
            label="answer")
        with self._reported():
            self.harness.send(caller, event)

    @precondition(lambda self: self.harness.actor is not None and
                  bool(self.harness.actor.outbox_size))
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        """The oldest message told is delivered (mostly) or refused."""
        refused = data.draw(st.integers(0, 4), label="refused") == 0
        with self._reported():
            self.harness.deliver("refused by the property tester" if refused else None)


class RunFailure(PropertyFailure):
    """A :class:`PropertyFailure` raised in a state machine's run, with the run (``trace``)
    and a Scenario test that repeats it in its message; ``failure`` is the original."""

    def __init__(self, failure: PropertyFailure, chart: Chart, trace: list[Step],
                 peers: list[str] | None = None) -> None:
        from .report import run_text, scenario_code

        super().__init__(failure.check, failure.message)
        self.failure = failure
        self.trace = list(trace)
        code = scenario_code(chart.actor_type, chart_source(chart), failure.check, self.trace,
                             "the run that broke it", peers=peers)
        self.args = (f"{failure}\n\n" + run_text(self.trace, f"the run, {len(trace)} steps",
                                                  "to repeat it in a test", code),)


def machine_for(chart: Chart | str | Path, *,
                invariants: Iterable[Invariant | tuple[str, Invariant]] = (),
                events: Mapping[str, st.SearchStrategy[dict[str, Any]]] | None = None,
                clients: int = 3, services: int = 1, leaks: bool = True,
                peers: Iterable[Chart] = (),
                ) -> type[ChartMachine]:
    """A state machine class for ``chart`` (a :class:`~actorkit.Chart` or a chart file).

    ``invariants`` are your own checks, run after every step: functions of the actor that
    return ``False`` or raise ``AssertionError`` when broken (named by their ``__name__``, or
    give ``(name, function)`` pairs). ``events`` replaces the generated events of some types
    with your strategies (of whole events, or of payloads without ``type``). The callers are
    ``clients`` client ids and ``services`` service ids, and, if the chart takes messages
    from other actors, an actor of each type that may spawn it or that one of ``peers`` (the
    charts tested with it) tells; what it tells ``peers`` must be what they take.
    ``leaks=False`` turns off the check that no caller sees another's private data. The
    class's ``coverage`` adds up what every run reached, and its ``steering`` (none at
    first) weighs events. In pytest: ``TestTodo = machine_for("charts/todo.yaml").TestCase``;
    its settings leave out hypothesis's explain phase (keep that with
    ``hypothesis.settings(TestTodo.settings, max_examples=...)``), and a broken property
    fails with the run and a Scenario test that repeats it.
    """
    loaded = as_chart(chart)
    others = {p.actor_type: p for p in peers if p.actor_type != loaded.actor_type}
    pool = tuple(caller_pool(clients, services)) + _tellers(loaded, others.values())
    attrs = {
        "peers": others,
        "chart": loaded,
        "callers": pool,
        "senders": tuple(c for c in pool if loaded.schemas.events_for(c.type)),
        "_handled": {},
        "_made": {},
        "checks": named(invariants),
        "event_strategies": dict(events or {}),
        "leaks": leaks,
        "coverage": Coverage.of(loaded.actor_type, loaded.statechart),
        "steering": None,
        "_weights": None,
    }
    name = "".join(part.capitalize() for part in loaded.actor_type.split("-")) + "Machine"
    messages = bool(loaded.schemas.actor) or ".tell(" in _hooks_source(loaded)
    machine: type[ChartMachine] = type(name, (MessagingMachine if messages else ChartMachine,),
                                       attrs)
    # hypothesis's explain phase replays a failing run hundreds of times to say which lines
    # only failing runs reach: minutes for a chart, and the RunFailure says more
    machine.TestCase.settings = hypothesis.settings(
        machine.TestCase.settings, phases=[p for p in Phase if p is not Phase.explain])
    return machine


def _tellers(chart: Chart, peers: Iterable[Chart]) -> tuple[Caller, ...]:
    """The actors that send ``chart`` messages in a run, if it takes any: one of each type
    its ``spawned_by:`` names or whose hooks tell it (``"peer"`` if none is known)."""
    if not chart.schemas.actor:
        return ()
    types = set(chart.spawned_by)
    for peer in peers:
        source = _hooks_source(peer)
        if any(t.actor_type == chart.actor_type for t in tells_in(source)):
            types.add(peer.actor_type)
    return tuple(Caller.actor(t, "p1") for t in sorted(types or {"peer"}))


def _hooks_source(chart: Chart) -> str:
    if chart.hooks_file is None:
        return ""
    try:
        return Path(chart.hooks_file).read_text("utf-8")
    except OSError:
        return ""
