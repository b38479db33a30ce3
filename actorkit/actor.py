"""One actor: a sismic interpreter and its context, driven one event at a time.

Every event runs as a transaction: if anything goes wrong (a hook raises, a guard fails, sismic
finds the chart non-deterministic, a contract breaks, the context leaves its schema) the actor
is exactly as before the event, and the caller gets a :class:`~actorkit.StepError` saying what
and where. After each committed step the actor keeps its state as canonical JSON bytes: that is
what a rollback restores, what :meth:`Actor.snapshot` returns and what a store would write.

An :class:`Actor` is this module's steps on top of :class:`~actorkit.commit.Commit` (the
committed state and its snapshot) and :class:`~actorkit.messages.Messages` (its outbox and
inbox); :mod:`actorkit.context` checks the context a step left, and
:mod:`actorkit.stepresult` says what a step did.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import orjson
from sismic.exceptions import CodeEvaluationError, ConflictingTransitionsError
from sismic.exceptions import ContractError as SismicContractError
from sismic.exceptions import NonDeterminismError as SismicNonDeterminismError
from sismic.model import MacroStep

from . import deadline
from . import snapshot as snapshots
from .chart import Chart
from .commit import NO_BUCKETS, Commit
from .context import check_context
from .deadline import Interrupted
from .engine import ActorInterpreter, StepClock
from .errors import (
    ContractError,
    EventRejected,
    HookError,
    NondeterminismError,
    Quarantined,
    SnapshotError,
    StepError,
    StepLimitError,
)
from .events import ActorEvent, Caller
from .hooks import Ctx, HookEvaluator, PrivateBuckets
from .ids import check_actor_id
from .scxml import ScxmlInterpreter
from .statevalue import StateValue
from .stepresult import StepResult, ViewParts, took_event, took_transition

__all__ = ["MAX_MACRO_STEPS", "MAX_TIMER_STEPS", "Actor", "StepResult", "ViewParts"]

#: Macro steps one event may cause (internal events, eventless transitions) before it is
#: declared a loop and rolled back.
MAX_MACRO_STEPS = 1000
#: Timer steps one call to :meth:`Actor.advance` may run.
MAX_TIMER_STEPS = 10_000

_guard = deadline.guard


class Actor(Commit):
    """One actor of a chart, identified by ``(chart.actor_type, id)``.

    Make one with :meth:`spawn` or :meth:`restore`; drive it with :meth:`send` (client and
    service events), :meth:`advance` (timers) and the lifecycle methods :meth:`connect`,
    :meth:`disconnect` and :meth:`resume`; read it with :meth:`view`, :attr:`value` and
    :meth:`snapshot`.
    """

    # The committed state's slots are Commit's, the outbox's and inbox's Messages'.
    __slots__ = ("_clock", "_evaluator", "_initial_caller", "_input_json", "_interp", "_log",
                 "_now", "chart", "id", "max_state", "on_commit", "record_steps")

    def __init__(self, chart: Chart, actor_id: str, *, input: dict[str, Any],
                 initial_caller: Caller, clock: Callable[[], float] | None,
                 context: dict[str, Any], run_preamble: bool, at: float) -> None:
        # Use spawn() or restore(): this only wires the pieces together.
        self.chart = chart
        self.id = actor_id
        # Fixed at spawn: hooks get a copy each step, so nothing can change it in place.
        self._input_json = snapshots.canonical(input)
        self._initial_caller = initial_caller
        self._now = clock or _time.time
        # The committed state (see Commit) and the messages (see Messages), before the
        # first step.
        self._seq = 0
        self._time = at
        self._timers = []
        self._wakeup = None
        self._final = None
        self._quarantine = None
        self._outbox = []
        self._inbox = {}
        self._value = {}
        self._committed = b""
        self._unsaved = None
        self._public_json = b""
        self._value_json = b""
        self._private_json = b"{}"
        self._buckets = NO_BUCKETS
        self._size = 0
        self._log: list[StepResult] = []
        #: keep each committed step for :meth:`take_steps` (a journal); off by default
        self.record_steps = False
        #: called with sismic's macro steps of each committed step that moved (the states it
        #: entered, the transitions it took); the property tester counts coverage with it
        self.on_commit: Callable[[list[MacroStep]], None] | None = None
        #: bytes the state may take; a step that would grow it past them is refused with a
        #: :class:`~actorkit.BoundError` (``None``: no limit). The chart's ``max_state:``.
        self.max_state: int | None = chart.max_state
        self._clock = StepClock(at)
        evaluator = partial(
            HookEvaluator, plans=chart.plans, code_cache=chart.code_cache,
            hooks_file=chart.hooks_file, run_preamble=run_preamble)
        try:
            self._interp = deadline.chart_code(  # the preamble runs here
                lambda: (ScxmlInterpreter if chart.semantics == "scxml" else ActorInterpreter)(
                    chart.statechart, evaluator_klass=evaluator, initial_context=context,
                    clock=self._clock, ignore_contract=not chart.contracts),
                "preamble", "preamble", "the statechart preamble")
        except CodeEvaluationError as e:
            raise HookError(f"the statechart preamble raised {e.__cause__!r}", hook="preamble",
                            where="preamble") from e
        self._evaluator: HookEvaluator = self._interp._evaluator

    # -- making actors ---------------------------------------------------------------------

    @classmethod
    def spawn(cls, chart: Chart, actor_id: str, *, caller: Caller, input: Any = None,
              clock: Callable[[], float] | None = None,
              max_state: int | None = None,
              on_commit: Callable[[list[MacroStep]], None] | None = None) -> Actor:
        """Create actor ``actor_id`` of ``chart`` for its first ``caller`` with ``input``.

        The id must follow :mod:`actorkit.ids` (:class:`~actorkit.ActorIdError`) and the
        input its schema (:class:`~actorkit.EventRejected`). The chart enters its initial
        states and, if the chart handles it, receives the ``INITIALIZE`` system event, all in
        one transaction: any failure raises and no actor exists. ``max_state`` is the
        :attr:`max_state` of a chart without its own; ``on_commit`` is :attr:`on_commit`,
        set before the initial states are entered.
        """
        check_actor_id(actor_id)
        checked = chart.schemas.validate_input(input)
        now = (clock or _time.time)()
        context = dict(orjson.loads(orjson.dumps(chart.initial_context)))
        context["private"] = PrivateBuckets({}, chart.default_private)
        actor = cls(chart, actor_id, input=checked, initial_caller=caller, clock=clock,
                    context=context, run_preamble=True, at=now)
        if chart.max_state is None:
            actor.max_state = max_state
        actor.on_commit = on_commit
        actor._step(caller, now, None, initialize=chart.handles("INITIALIZE"))
        return actor

    @classmethod
    def restore(cls, chart: Chart, data: Mapping[str, Any] | str | bytes, *,
                clock: Callable[[], float] | None = None,
                max_state: int | None = None) -> Actor:
        """Rebuild an actor from ``data``, what :meth:`snapshot` returned (a dict or its JSON),
        so that it continues exactly as the original would: configuration, history, context,
        timers, sequence.

        The preamble does not run again and no event is sent (see :meth:`resume`). Raises
        :class:`~actorkit.SnapshotError` if the snapshot does not fit ``chart``.
        ``max_state`` is the :attr:`max_state` of a chart without its own.
        """
        snap = snapshots.parse(data)
        snapshots.check_fits(chart, snap)
        try:
            actor = cls(chart, snap["actor"]["id"], input=snap["input"],
                        initial_caller=Caller.from_json(snap["initialCaller"]), clock=clock,
                        context={}, run_preamble=False, at=float(snap["time"]))
            actor._apply(snap)
            actor._committed = snapshots.dump(actor._snapshot_dict())
            actor._size = actor._measure()
            if chart.max_state is None:
                actor.max_state = max_state
        except (KeyError, TypeError, ValueError) as e:
            raise SnapshotError(f"snapshot is malformed ({type(e).__name__}: {e}); it must be "
                                f"what Actor.snapshot() returned") from e
        return actor

    # -- reading -------------------------------------------------------------------------------

    @property
    def type(self) -> str:
        """The actor type (the chart's ``actor``)."""
        return self.chart.actor_type

    @property
    def seq(self) -> int:
        """Sequence number of the last committed step (0 after spawn)."""
        return self._seq

    @property
    def time(self) -> float:
        """Time (epoch seconds) of the last committed step."""
        return self._time

    @property
    def value(self) -> StateValue:
        """The active configuration as an XState state value."""
        value: StateValue = _copy(self._value)
        return value

    @property
    def configuration(self) -> list[str]:
        """Names of the active states, outermost first."""
        return list(self._interp.configuration)

    @property
    def quarantine(self) -> dict[str, Any] | None:
        """Why the actor is quarantined (``{"since", "reason"}``), or ``None``. A quarantined
        actor runs nothing: its timers wait and every event raises
        :class:`~actorkit.Quarantined` until the quarantine is lifted."""
        return dict(self._quarantine) if self._quarantine is not None else None

    @property
    def done(self) -> bool:
        """Whether the chart reached a final state of its root (it then takes no events)."""
        return self._final is not None

    @property
    def input(self) -> dict[str, Any]:
        """The input the actor was spawned with."""
        return orjson.loads(self._input_json)  # type: ignore[no-any-return]

    @property
    def initial_caller(self) -> Caller:
        """The caller that spawned the actor."""
        return self._initial_caller

    @property
    def context(self) -> dict[str, Any]:
        """A copy of the whole committed context (public, private and internal keys)."""
        return _copy(self._evaluator._context)  # type: ignore[no-any-return]

    @property
    def timers(self) -> list[dict[str, Any]]:
        """Pending ``ctx.schedule()`` timers: id, due time, event type and data."""
        return [t.to_json() for t in self._timers]

    @property
    def next_deadline(self) -> float | None:
        """When the actor next has something to do on its own (a timer, a delayed event, an
        ``after()``/``idle()`` guard), or ``None``. Call :meth:`advance` at that time.
        A done actor has none: timers still pending at its final state never fire; nor has a
        quarantined one, until its quarantine is lifted."""
        if self._final is not None or self._quarantine is not None:
            return None
        due = [t for t in (
            self._timers[0].due if self._timers else None,
            self._interp._internal_queue[0][0] if self._interp._internal_queue else None,
            self._interp._external_queue[0][0] if self._interp._external_queue else None,
            self._wakeup,
        ) if t is not None]
        return min(due) if due else None

    @property
    def next_wake(self) -> float | None:
        """When the runtime should next wake the actor: :attr:`next_deadline`, or at once (the
        time of its last step) while its outbox holds messages to deliver, even once it is
        done; ``None`` while it is quarantined."""
        if self._quarantine is not None:
            return None
        due = self.next_deadline
        if self._outbox:
            return self._time if due is None else min(due, self._time)
        return due

    def take_steps(self) -> list[StepResult]:
        """The steps committed since the last call, oldest first, while :attr:`record_steps`
        is on (a journal uses it): every step, including timer steps run before an event that
        then failed."""
        steps, self._log = self._log, []
        return steps

    def view_parts(self) -> ViewParts:
        """The committed view parts as canonical JSON: the public part, each caller's private
        bucket by id, and the state value. Read-only: they are what views are made of."""
        return self._public_json, self._buckets, self._value_json

    def view(self, caller: Caller) -> dict[str, Any]:
        """What ``caller`` sees: ``{"public", "private", "value"}``, where ``private`` is that
        caller's own bucket (the chart's default if it has none) and no one else's."""
        private = self._buckets.get(caller.id, self.chart.default_private)
        return {"public": orjson.loads(self._public_json), "private": orjson.loads(private),
                "value": orjson.loads(self._value_json)}

    def __repr__(self) -> str:
        return f"<Actor {self.type}/{self.id} seq={self._seq} value={self._value!r}>"

    # -- driving ---------------------------------------------------------------------------

    def send(self, event: Mapping[str, Any], caller: Caller, *,
             commit_unhandled: bool = False) -> StepResult:
        """Run one client or service event to completion, as a transaction.

        The event is checked against the schema of ``caller.type`` first
        (:class:`~actorkit.EventRejected`, nothing runs). Timers already due run before it.
        If the step fails, a :class:`~actorkit.StepError` is raised and the actor is as before.
        An event that takes no transition changes nothing: its result says ``handled=False``
        and it is not committed (see :class:`StepResult`), unless ``commit_unhandled`` (a
        journal's replay: journals written before such events were left out hold them as
        steps).
        """
        if caller.type in ("system", "actor"):
            raise EventRejected(f"{caller.type} events come only from the actorkit runtime "
                                f"(an actor's arrive by ctx.tell()); send as a client or "
                                f"service caller")
        etype, payload = self.chart.schemas.validate_event(caller.type, event)
        return self._event(caller, etype, payload, skip_unhandled=not commit_unhandled)

    def _event(self, caller: Caller, etype: str, payload: dict[str, Any], *,
               skip_unhandled: bool = False,
               message: tuple[int, int] | None = None) -> StepResult:
        """The step of a checked event from a caller, after the timers already due."""
        if self.chart.semantics == "scxml" and etype.startswith("done.state."):
            raise EventRejected(f"{etype} is raised by the chart itself when a state is done "
                                f"(semantics: scxml); no caller may send it: remove it from "
                                f"the schemas", event_type=etype)
        if self._quarantine is not None:
            raise Quarantined.of(self.type, self.id, self._quarantine)
        if self._final is not None:
            raise EventRejected(f"the actor reached its final state {self._final!r} and takes "
                                f"no more events", event_type=etype)
        now = self._now()
        fired = self.advance(now)
        result = self._step(caller, now, ActorEvent(etype, payload, caller), sent=True,
                            skip_unhandled=skip_unhandled, message=message)
        return replace(result, timers=tuple(fired)) if fired else result

    def can(self, event: Mapping[str, Any], caller: Caller) -> bool:
        """Whether ``event``, sent now by ``caller``, would be handled (XState's
        ``snapshot.can``): the schema of ``caller.type`` accepts it and, once the timers
        already due have run, at least one transition of the active states takes it, its
        guard holding. Guards run (on a copy of the actor); actions do not. Nothing changes:
        no step, no timer, nothing journaled.

        ``False`` where :meth:`send` would raise :class:`~actorkit.EventRejected` (the schema,
        a system caller, an actor in its final state); :class:`~actorkit.Quarantined` as
        :meth:`send` would. A guard that raises makes this raise the
        :class:`~actorkit.HookError` :meth:`send` would raise (any
        :class:`~actorkit.StepError` of the timers due first, likewise).
        """
        if caller.type == "system":
            return False
        try:
            etype, payload = self.chart.schemas.validate_event(caller.type, event)
        except EventRejected:
            return False
        if self._quarantine is not None:
            raise Quarantined.of(self.type, self.id, self._quarantine)
        if self._final is not None:
            return False
        # A copy: due timers and guards run there, and whatever they touch goes with it.
        probe = Actor.restore(self.chart, self.snapshot_json(), clock=self._now,
                              max_state=self.max_state)
        now = self._now()
        probe.advance(now)
        if probe._final is not None:
            return False
        return probe._takes(caller, now, ActorEvent(etype, payload, caller))

    def advance(self, now: float | None = None, *,
                failed: Mapping[int, str] | None = None) -> list[StepResult]:
        """Run every timer step due at or before ``now`` (default: the clock), each at its own
        due time, in order. A timer step that fails is rolled back and dropped; its result
        carries the ``error``. ``failed`` (a journal's replay) gives the steps known to have
        failed, by sequence number, with their error: they are dropped without running,
        so that a step that once ran past its deadline does not run (and hang) again."""
        now = self._now() if now is None else now
        results: list[StepResult] = []
        for _ in range(MAX_TIMER_STEPS):
            due = self.next_deadline
            if due is None or due > now or self._final is not None:
                return results
            results.append(self._fire(due, failed.get(self._seq + 1) if failed else None))
        raise StepLimitError(f"more than {MAX_TIMER_STEPS} timer steps were due at once: a "
                             f"timer keeps rescheduling itself with no delay")

    def connect(self, caller: Caller) -> StepResult | None:
        """Tell the actor ``caller`` connected: sends ``CONNECT`` if the chart handles it."""
        return self._system("CONNECT", {"connectingCaller": caller.to_json()})

    def disconnect(self, caller: Caller) -> StepResult | None:
        """Tell the actor ``caller`` left: sends ``DISCONNECT`` if the chart handles it."""
        return self._system("DISCONNECT", {"disconnectingCaller": caller.to_json()})

    def resume(self) -> StepResult | None:
        """After a restart (not a mere restore): sends ``RESUME`` if the chart handles it."""
        return self._system("RESUME", {})

    def migrated(self, from_version: int, to_version: int) -> StepResult | None:
        """After its snapshot was migrated: sends ``MIGRATE`` (with ``fromVersion`` and
        ``toVersion``) if the chart handles it."""
        return self._system("MIGRATE", {"fromVersion": from_version, "toVersion": to_version})

    def _system(self, etype: str, data: dict[str, Any]) -> StepResult | None:
        if self._quarantine is not None:
            raise Quarantined.of(self.type, self.id, self._quarantine)
        if not self.chart.handles(etype) or self._final is not None:
            return None
        now = self._now()
        fired = self.advance(now)
        system = Caller.system(self.id)
        result = self._step(system, now, ActorEvent(etype, data, system))
        return replace(result, timers=tuple(fired)) if fired else result

    # -- the transaction ---------------------------------------------------------------------

    def _fire(self, due: float, failed: str | None = None) -> StepResult:
        system = Caller.system(self.id)
        timer = self._timers[0] if self._timers and self._timers[0].due <= due else None
        if timer is not None:
            self._timers.pop(0)
        event = ActorEvent(timer.type, timer.data, system) if timer is not None else None
        try:
            if failed is not None:  # known to fail: dropped without running, as it was
                raise StepError(failed)
            return self._step(system, due, event)
        except StepError as e:
            # Rolled back; drop what was due so it cannot fail again on every advance().
            if timer is not None:
                self._timers = [t for t in self._timers if t.id != timer.id]
            else:
                interp = self._interp
                interp._internal_queue = [q for q in interp._internal_queue if q[0] > due]
                interp._external_queue = [q for q in interp._external_queue if q[0] > due]
                if self._wakeup is not None and self._wakeup <= due:
                    self._wakeup = None
            # Dropping it is a step of its own, so a journal replays to the same state.
            self._commit(self._seq + 1, max(due, self._time), [], self._public_json, None,
                         self._wakeup)
            result = StepResult(self._seq, timer.type if timer else None, system, self._time,
                                timer.data if timer else None, error=e)
            if self.record_steps:
                self._log.append(result)
            return result

    def _takes(self, caller: Caller, at: float, event: ActorEvent) -> bool:
        """Whether ``event`` would take a transition now (for :meth:`can`: guards run and may
        leave this actor changed; throw it away after)."""
        self._begin(caller, max(at, self._time), self._seq + 1)
        try:
            deadline.enter()  # from here to the finally: the chart's guards
            try:
                return self._interp.takes(event)
            finally:
                _guard.user = False  # first, before any call: see deadline.enter()
                if _guard.async_sent:
                    deadline.take_back()
        except StepError as e:
            e.event_type = event.name
            raise
        except Interrupted as e:
            if not _guard.per_step:
                raise
            failed = deadline.failure(e)
            failed.event_type = event.name
            raise failed from None
        except Exception as e:  # sismic's own failures
            error = StepError(f"evaluating the guards of {event.name} failed inside the "
                              f"interpreter: {type(e).__name__}: {e}")
            error.event_type = event.name
            raise error from e
        finally:
            self._evaluator.ctx = None

    def _begin(self, caller: Caller, now: float, seq: int) -> Ctx:
        """Ready the chart's code to run at ``now`` as step ``seq`` of ``caller``: the clock,
        the ``ctx`` its hooks and guards see, and which private buckets they touch."""
        self._clock.now = now
        context = self._evaluator._context
        ctx = self._evaluator.ctx = Ctx(
            interp=self._interp, context=context, caller=caller, actor_id=self.id,
            actor_type=self.chart.actor_type, input_json=self._input_json,
            initial_caller=self._initial_caller, now=now, seq=seq, timers=self._timers,
            outputs=self.chart.schemas.output)
        private = context["private"]
        if isinstance(private, PrivateBuckets):
            private.touched = set()
        return ctx

    def _step(self, caller: Caller, at: float, event: ActorEvent | None, *,
              initialize: bool = False, sent: bool = False,
              skip_unhandled: bool = False,
              message: tuple[int, int] | None = None) -> StepResult:
        interp, evaluator = self._interp, self._evaluator
        now = max(at, self._time)
        seq = self._seq + 1 if self._committed or self._unsaved is not None else 0
        ctx = self._begin(caller, now, seq)
        try:
            try:
                if event is not None:
                    interp._queue_event(event)
                deadline.enter()  # from here to the finally: the chart's code
                try:
                    steps = self._execute()
                    if initialize:
                        system = Caller.system(self.id)
                        ctx.caller = system
                        interp._queue_event(ActorEvent("INITIALIZE", {}, system))
                        steps += self._execute()
                finally:
                    _guard.user = False  # first, before any call: see deadline.enter()
                    if _guard.async_sent:
                        deadline.take_back()
                if skip_unhandled and event is not None and not took_transition(steps):
                    # Nothing a replay needs changed: no state, context (a guard's changes
                    # are undone too), timer, nor sismic's entry or idle times, which only
                    # transitions move. So nothing is committed: the actor is put back
                    # exactly as it was (the interpreter's clock moved) and the step is not
                    # journaled, which leaves a replay exact.
                    self._rollback()
                    return StepResult(self._seq, event.name, caller, now, event.data,
                                      view_parts=(self._public_json, self._buckets,
                                                  self._value_json), handled=False)
                if self._timers and steps:
                    self._drop_left_timers()
                public_json, buckets = check_context(evaluator._context, self.chart,
                                                     self._public_json, self._buckets)
                if ctx._told:  # they leave with the step's commit, or not at all
                    self._outbox += [{"seq": seq, "index": i, **m}
                                     for i, m in enumerate(ctx._told)]
                if message is not None and caller.type == "actor":
                    self._inbox[caller.id] = list(message)
                self._commit(seq, now, steps, public_json, buckets, interp.wakeup)
            except StepError:
                raise
            except Interrupted as e:
                if not _guard.per_step:
                    raise  # a budget of the runner's: it decides what comes next
                raise deadline.failure(e) from None
            except SismicContractError as e:
                raise ContractError(_contract_message(e)) from e
            except (SismicNonDeterminismError, ConflictingTransitionsError) as e:
                first = str(e).splitlines()[0]
                raise NondeterminismError(f"{first}: add guards or priorities so only one "
                                          f"transition is enabled") from e
            except CodeEvaluationError as e:
                raise HookError(f"{e} (in a contract condition)", hook=str(e),
                                where="contract") from e
            except Exception as e:  # sismic's own failures (and ours): still rolled back
                raise StepError(f"the step failed inside the interpreter: "
                                f"{type(e).__name__}: {e}") from e
        except StepError as e:
            e.event_type = event.name if event is not None else None
            self._rollback()
            raise
        except BaseException:
            self._rollback()
            raise
        finally:
            evaluator.ctx = None
            private = evaluator._context["private"]
            if isinstance(private, PrivateBuckets):
                private.touched = None  # no set kept per idle actor
        result = StepResult(seq, event.name if event is not None else None, caller, now,
                            event.data if event is not None else None, tuple(ctx._outputs),
                            view_parts=(self._public_json, self._buckets, self._value_json),
                            handled=not sent or took_event(steps, event), message=message)
        if self.record_steps:
            self._log.append(result)
        return result

    def _drop_left_timers(self) -> None:
        active = self._interp._configuration
        statechart = self._interp.statechart
        for timer in self._timers:
            if timer.floating:  # armed in this step: the innermost of its states still active
                timer.floating = False
                state = timer.within
                while state is not None and state not in active:
                    state = statechart.parent_for(state)
                timer.within = state if state is not None else timer.within
        if any(t.within is not None and t.within not in active for t in self._timers):
            # In place: the step's Ctx holds this list.
            self._timers[:] = [t for t in self._timers if t.within is None or t.within in active]

    def _execute(self) -> list[MacroStep]:
        # sismic's execute() ends with one empty macro step; skip it when it provably has
        # nothing to do (no due event, no eventless transition) and contracts are off, since
        # with contracts that step also checks the state invariants.
        interp = self._interp
        skip = not self.chart.contracts
        steps: list[MacroStep] = []
        # The event a step's hooks see is the one it consumed: none yet (the scxml
        # interpreter keeps it for the eventless transitions that follow it).
        interp.current_event = None
        while True:
            step = interp.execute_once()
            if step is None:
                return steps
            steps.append(step)
            if len(steps) > MAX_MACRO_STEPS:
                raise StepLimitError(
                    f"the event caused more than {MAX_MACRO_STEPS} macro steps without "
                    f"settling: an eventless transition or internal event loops; give it a "
                    f"guard that becomes false")
            if skip and not interp.may_step():
                interp.wakeup = None
                return steps

def _copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def _contract_message(e: SismicContractError) -> str:
    kind = type(e).__name__.replace("Error", "").lower()
    obj = getattr(e, "obj", None)
    what = f"transition {obj}" if obj is not None and hasattr(obj, "source") \
        else f"state {getattr(obj, 'name', obj)!r}"
    return f"{kind} `{getattr(e, 'condition', '?')}` of {what} does not hold"
