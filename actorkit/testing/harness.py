"""Drive one actor through operations and check, after each, what must always hold.

The :class:`Harness` is what both the hypothesis state machine and a hand-written
:class:`~actorkit.testing.Scenario` run: it spawns the actor (and a twin that is snapshotted
and restored whenever asked), sends events, lets time pass, connects callers, and after every
operation checks the properties every chart must have. A broken property raises
:class:`PropertyFailure` naming the check and what was seen; the operations done so far are in
:attr:`Harness.trace`, the last one being the one that broke it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..actor import Actor, StepResult
from ..chart import Chart, load_chart
from ..coverage import Coverage
from ..difference import first_difference
from ..errors import ActorkitError, EventRejected, StepError
from ..events import Caller
from ..sync import Frames, PatchError, View, Views, apply_patch, canonical, checksum

__all__ = ["Harness", "Invariant", "InvariantError", "PropertyFailure", "Step",
           "load_invariant"]

#: A user invariant: looks at the actor after each operation; returns False or raises
#: AssertionError when the property does not hold.
Invariant = Callable[[Actor], "bool | None"]


class InvariantError(ActorkitError):
    """An invariant named as ``module:function`` cannot be used (exit code 2)."""


def load_invariant(spec: str) -> tuple[str, Invariant]:
    """The invariant ``spec`` names, ``module:function`` (a module importable from the
    working directory, a function of it taking the actor), as ``(function name, function)``;
    :class:`InvariantError` says what is wrong if it cannot be used."""
    import importlib
    import inspect
    import sys

    module_name, colon, name = spec.partition(":")
    if not colon or not module_name or not name:
        raise InvariantError(f"--invariant {spec!r}: give it as module:function, e.g. "
                             f"tests.invariants:ids_are_unique")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # as `python -m` does: the project's modules
    try:
        module = importlib.import_module(module_name)
    except Exception as e:
        raise InvariantError(f"--invariant {spec}: importing {module_name} failed "
                             f"({type(e).__name__}: {e}); name a module importable from "
                             f"this folder") from e
    function: Any = module
    for part in name.split("."):
        function = getattr(function, part, None)
    if not callable(function):
        raise InvariantError(f"--invariant {spec}: {module_name} has no function {name}")
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        raise InvariantError(f"--invariant {spec}: {name} must take one argument, the "
                             f"actor (def {name.rpartition('.')[2]}(actor): ...)") from None
    except ValueError:  # no signature to read (a builtin): let the first call tell
        pass
    return name, function

#: Where a harness's clock starts: a fixed time, so runs and their reports repeat exactly.
T0 = 1_700_000_000.0


def as_chart(chart: Chart | str | Path) -> Chart:
    """``chart`` itself, or the chart loaded from that file."""
    return chart if isinstance(chart, Chart) else load_chart(chart)


def chart_source(chart: Chart) -> str:
    """What names a chart in reports: its file, or its actor type if it has none."""
    return chart.path or chart.actor_type


def named(invariants: Iterable[Invariant | tuple[str, Invariant]],
          ) -> tuple[tuple[str, Invariant], ...]:
    """User invariants as ``(name, function)`` pairs, a bare function named by its
    ``__name__``."""
    return tuple(item if isinstance(item, tuple) else (item.__name__, item)
                 for item in invariants)


class PropertyFailure(AssertionError):
    """A property of the chart broke. ``check`` says which (``step-failed``, ``timer-failed``,
    ``rejected-changed``, ``invalid-accepted``, ``restore-differs``, ``can``, ``view``,
    ``leak``, ``patch``, ``checksum`` or ``invariant:<name>``); the message says what was seen."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message


@dataclass(frozen=True)
class Step:
    """One operation of a run: ``op`` is spawn, send, invalid, wait, restore, connect,
    disconnect or deliver; the caller as ``type:id``; the event (or spawn input, or for a
    delivery ``{"refused": why}`` if it was refused); seconds waited."""

    op: str
    caller: str | None = None
    event: Any = None
    seconds: float | None = None


@dataclass
class _Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    """One actor of ``chart`` under test. ``callers`` are the callers whose views are checked
    after every operation (every caller that takes part is added); ``invariants`` are the
    user's own checks; ``leaks`` turns the private-data leak check on; ``coverage``, if
    given, counts the states the actor enters and the transitions it takes. ``peers`` are
    the charts tested with it, by actor type: what it tells one of them must be what that
    chart's ``actor:`` schemas (and input schema) accept."""

    chart: Chart
    callers: list[Caller] = field(default_factory=list)
    invariants: Sequence[tuple[str, Invariant]] = ()
    leaks: bool = True
    coverage: Coverage | None = None
    actor_id: str = "x"
    trace: list[Step] = field(default_factory=list)
    peers: Mapping[str, Chart] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.clock = _Clock()
        self.actor: Actor | None = None
        self.twin: Actor | None = None  # the same run, snapshotted and restored on request
        self._views: dict[str, View | None] = {}
        self._frames = Frames()
        self._said: dict[str, set[str]] = {}  # strings each caller sent ("": the input)
        self._vocabulary = _schema_strings(self.chart)
        self._default_private = orjson.loads(self.chart.default_private)
        self.failure: PropertyFailure | None = None  # the first property that broke
        self._messages: dict[str, int] = {}  # how many messages each actor caller sent
        #: the actors this one told something, as the callers they answer as, in order
        self.told: list[Caller] = []

    # -- operations ----------------------------------------------------------------------------

    def spawn(self, caller: Caller, input: Any = None) -> None:
        """Create the actor (and its twin) for ``caller`` with spawn ``input``."""
        self._record(Step("spawn", str(caller), input))
        self._join(caller)
        self._note(caller, input, everyone=True)  # the input is known to whoever spawns
        try:
            self.actor = Actor.spawn(
                self.chart, self.actor_id, caller=caller, input=input, clock=self.clock,
                on_commit=self.coverage.count if self.coverage is not None else None)
        except StepError as e:
            raise self._fail("step-failed", f"spawning the actor failed: "
                                                 f"{type(e).__name__}: {e}") from e
        self.twin = Actor.restore(self.chart, self.actor.snapshot_json(), clock=self.clock)
        self._check()

    def send(self, caller: Caller, event: dict[str, Any]) -> StepResult | None:
        """Send a valid ``event`` from ``caller``: it must not fail, and must be handled
        exactly when :meth:`~actorkit.Actor.can` said it would be (an event no transition
        takes must change nothing)."""
        actor, twin = self._actors()
        self._record(Step("send", str(caller), event))
        self._join(caller)
        self._note(caller, event)
        before, done = actor.snapshot_json(), actor.done
        predicted = _outcome(actor.can, event, caller)
        if actor.snapshot_json() != before:
            raise self._fail("can", f"can() of {event.get('type')} changed the actor")
        run = self._runner(caller, event)
        got = _outcome(run, actor)
        self._same(got, _outcome(run, twin), f"sending {event.get('type')}")
        if isinstance(got, EventRejected) and done:  # a done actor takes no more events
            self._unchanged(actor, before, "a rejected event")
            self._check()
            return None
        if isinstance(got, EventRejected):
            raise self._fail("event-rejected", f"{caller} sent {_short(event)}, which the "
                                                    f"generator made valid, and it was "
                                                    f"rejected: {got}")
        if isinstance(got, StepError):
            self._unchanged(actor, before, "a failed step")
            raise self._fail("step-failed", f"{event.get('type')} from {caller} failed: "
                                                 f"{type(got).__name__}: {got}")
        if predicted is not got.handled:
            said = f"raised {type(predicted).__name__}: {predicted}" \
                if isinstance(predicted, BaseException) else f"said {predicted}"
            raise self._fail("can", f"can() {said} of {_short(event)} from {caller}, but "
                                    f"send() {'took' if got.handled else 'took no'} "
                                    f"transition on it")
        # (a message another actor told is committed, taken or not: the receiver notes it)
        if not got.handled and not got.timers and actor.snapshot_json() != before and \
                caller.type != "actor":
            raise self._fail("can", f"{_short(event)} from {caller} was not handled and "
                                    f"changed the actor")
        self._check()
        return got  # type: ignore[no-any-return]

    def send_invalid(self, caller: Caller, event: dict[str, Any]) -> None:
        """Send an event that breaks its schema: it must be rejected and change nothing."""
        actor, twin = self._actors()
        self._record(Step("invalid", str(caller), event))
        self._join(caller)
        before = actor.snapshot_json()
        run = self._runner(caller, event)
        got = _outcome(run, actor)
        _outcome(run, twin)
        if not isinstance(got, EventRejected):
            raise self._fail("invalid-accepted", f"{caller} sent {_short(event)}, which "
                                                      f"breaks its schema, and it was not "
                                                      f"rejected")
        self._unchanged(actor, before, "a rejected event")
        self._check()

    def wait(self, seconds: float) -> list[StepResult]:
        """Let ``seconds`` pass: every timer that falls due runs, and none may fail."""
        actor, twin = self._actors()
        self._record(Step("wait", seconds=seconds))
        self.clock.now += seconds
        got = _outcome(actor.advance)
        self._same(got, _outcome(twin.advance), f"waiting {seconds:g} s")
        if isinstance(got, BaseException):
            raise self._fail("timer-failed", f"timers failed: {type(got).__name__}: {got}")
        for result in got:
            if result.error is not None:
                raise self._fail("timer-failed", f"the timer step {result.type or '(due)'}"
                                                      f" at +{result.time - T0:g} s failed: "
                                                      f"{type(result.error).__name__}: "
                                                      f"{result.error}")
        self._check()
        return got  # type: ignore[no-any-return]

    def deliver(self, refused: str | None = None) -> None:
        """The oldest message the actor told (``ctx.tell``) is delivered, or its receiver
        refused it (``refused`` says why: the chart gets ``MESSAGE_FAILED``); either way it
        leaves the outbox, and the step must not fail."""
        actor, twin = self._actors()
        self._record(Step("deliver", event=None if refused is None else {"refused": refused}))
        head = actor.outbox_head
        if head is None:
            raise self._fail("deliver", "there is no message to deliver")
        got = _outcome(actor.delivered, head["seq"], head["index"], refused)
        self._same(got, _outcome(twin.delivered, head["seq"], head["index"], refused),
                   "delivering")
        if isinstance(got, BaseException) or got is None or got.error is not None:
            why = got.error if got is not None and not isinstance(got, BaseException) else got
            raise self._fail("step-failed", f"{got.type if got is not None else 'the'} step "
                                            f"of the message to {head['to']['type']}/"
                                            f"{head['to']['id']} failed: "
                                            f"{type(why).__name__}: {why}")
        self._check()

    def _runner(self, caller: Caller, event: dict[str, Any]) -> Callable[[Actor], Any]:
        """How ``caller`` sends ``event`` to an actor: another actor's is a told message
        (each one after the last that caller sent); anyone else's an event."""
        if caller.type != "actor":
            return lambda actor: actor.send(event, caller)
        seq = self._messages[caller.id] = self._messages.get(caller.id, 0) + 1
        message = {"seq": seq, "index": 0, "event": event}
        return lambda actor: actor.receive(message, caller)

    def restore(self) -> None:
        """Snapshot the twin and continue with a fresh actor restored from it."""
        _, twin = self._actors()
        self._record(Step("restore"))
        self.twin = Actor.restore(self.chart, twin.snapshot_json(), clock=self.clock)
        self._check()

    def connect(self, caller: Caller) -> None:
        """``caller`` opens a connection (CONNECT, if the chart handles it)."""
        self._lifecycle("connect", caller)

    def disconnect(self, caller: Caller) -> None:
        """``caller`` closes its connection (DISCONNECT, if the chart handles it)."""
        self._lifecycle("disconnect", caller)

    def _lifecycle(self, op: str, caller: Caller) -> None:
        actor, twin = self._actors()
        self._record(Step(op, str(caller)))
        self._join(caller)
        before = actor.snapshot_json()
        got = _outcome(getattr(actor, op), caller)
        self._same(got, _outcome(getattr(twin, op), caller), op)
        if isinstance(got, StepError):
            self._unchanged(actor, before, "a failed step")
            event = "CONNECT" if op == "connect" else "DISCONNECT"
            raise self._fail("step-failed", f"{event} of {caller} failed: "
                                                 f"{type(got).__name__}: {got}")
        self._check()

    # -- what is checked after every operation -------------------------------------------------

    def _check(self) -> None:
        actor, twin = self._actors()
        restored, original = twin.snapshot_json(), actor.snapshot_json()
        if restored != original:
            raise self._fail("restore-differs", f"the actor restored from a snapshot differs "
                                                     f"from the one never restored at "
                                                     f"{_differs(restored, original)}")
        if actor.outbox_size:
            self._check_told(actor.outbox)
        public, buckets, value = actor.view_parts()
        views = Views(public, buckets, value, self.chart.default_private)
        context = actor.context
        secrets = self._secrets(context) if self.leaks else {}
        for caller in self.callers:
            self._check_view(actor, caller, views.of(caller.id), context, secrets)
        for name, invariant in self.invariants:
            try:
                held = invariant(actor)
            except AssertionError as e:
                raise self._fail(f"invariant:{name}", str(e) or "assertion failed") from e
            if held is False:
                raise self._fail(f"invariant:{name}", "returned False")

    def _check_told(self, outbox: list[dict[str, Any]]) -> None:
        """What the actor told a chart under test must be what that chart takes."""
        for message in outbox:
            to_type, to_id = message["to"]["type"], message["to"]["id"]
            receiver = Caller.actor(to_type, to_id)
            if receiver not in self.told:
                self.told.append(receiver)
            peer = self.peers.get(to_type)
            if peer is None:
                continue
            try:
                peer.schemas.validate_event("actor", message["event"])
                if "input" in message:
                    peer.schemas.validate_input(message["input"])
            except EventRejected as e:
                raise self._fail("tell-refused", f"the actor told {to_type}/{to_id} "
                                                 f"{_short(message['event'])}, which chart "
                                                 f"{to_type!r} refuses: {e}") from None

    def _check_view(self, actor: Actor, caller: Caller, view: View, context: dict[str, Any],
                    secrets: dict[str, list[str]]) -> None:
        data = actor.view(caller)
        mine = context["private"].get(caller.id) if caller.id in context["private"] else \
            self._default_private
        want = {"public": context["public"], "private": mine, "value": actor.value}
        if data != want or view.data != want:
            shown = data if data != want else view.data
            raise self._fail("view", f"{caller}'s view is not the public context, its own "
                                          f"private bucket and the state value, at "
                                          f"{_differs(shown, want, 'view', 'context')}")
        if checksum(canonical(data)) != view.checksum:
            raise self._fail("checksum", f"{caller}'s checksum is not the SHA-256 of its "
                                              f"view's canonical JSON")
        previous = self._views.get(caller.id)
        frame = self._frames.frame(previous, view)
        if frame is not None:
            sent = orjson.loads(frame)
            try:
                patched = apply_patch(previous.data if previous is not None else {},
                                      sent["operations"])
            except PatchError as e:
                raise self._fail("patch", f"the patch sent to {caller} does not apply to "
                                               f"its previous view: {e}") from e
            if patched != data:
                raise self._fail("patch", f"the patch sent to {caller} does not turn its "
                                               f"previous view into the new one, at "
                                               f"{_differs(patched, data, 'patched', 'new')}")
            if sent["checksum"] != view.checksum:
                raise self._fail("patch", f"the frame sent to {caller} does not carry its "
                                               f"new view's checksum")
        self._views[caller.id] = view
        if self.leaks:
            self._check_leaks(caller, data, secrets)

    def _secrets(self, context: dict[str, Any]) -> dict[str, list[str]]:
        """Each caller's secrets: the strings (4 characters or more, not a word of the chart's
        schemas) in its private bucket that came from its own events and from no one else's
        (nor from the input)."""
        found: dict[str, list[str]] = {}
        for other, bucket in context["private"].items():
            said = self._said.get(other)
            if not said:
                continue
            found[other] = [
                text for text in set(_strings(bucket)) & said
                if not (len(text) < 4 or text in self._vocabulary or any(
                    text in strings for who, strings in self._said.items() if who != other))]
        return found

    def _check_leaks(self, caller: Caller, data: dict[str, Any],
                     secrets: dict[str, list[str]]) -> None:
        """No secret of another caller (see :meth:`_secrets`) is a value in this caller's
        view."""
        seen: set[str] | None = None
        for other, texts in secrets.items():
            if other == caller.id:
                continue
            for text in texts:
                if seen is None:
                    seen = set(_strings(data))
                if text in seen:
                    who = next((str(c) for c in self.callers if c.id == other), other)
                    raise self._fail("leak", f"{text!r}, which only {who} sent and which is "
                                             f"in its private bucket, is in {caller}'s view")

    # -- helpers -------------------------------------------------------------------------------

    def _fail(self, check: str, message: str) -> PropertyFailure:
        failure = PropertyFailure(check, message)
        if self.failure is None:
            self.failure = failure
        return failure

    def _actors(self) -> tuple[Actor, Actor]:
        if self.actor is None or self.twin is None:
            raise RuntimeError("spawn the actor first")
        return self.actor, self.twin

    def _record(self, step: Step) -> None:
        self.trace.append(step)

    def _join(self, caller: Caller) -> None:
        if caller not in self.callers:
            self.callers.append(caller)

    def _note(self, caller: Caller, value: Any, *, everyone: bool = False) -> None:
        self._said.setdefault("" if everyone else caller.id, set()).update(_strings(value))

    def _same(self, a: Any, b: Any, what: str) -> None:
        restored, original = _comparable(b), _comparable(a)
        if restored != original:
            raise self._fail("restore-differs", f"{what}: the restored actor's result "
                                                     f"differs from the never restored one's "
                                                     f"at {_differs(restored, original)}")

    def _unchanged(self, actor: Actor, before: bytes, what: str) -> None:
        after = actor.snapshot_json()
        if after != before:
            changed = _differs(after, before, "after", "before")
            raise self._fail("rejected-changed", f"{what} changed the actor, at {changed}")


def _outcome(method: Callable[..., Any], *args: Any) -> Any:
    try:
        return method(*args)
    except (EventRejected, StepError) as e:
        return e


def _comparable(outcome: Any) -> Any:
    """What an operation gave, as JSON with named fields (so a difference has a pointer a
    person can read: ``/0/outputs/1/amount``)."""
    if isinstance(outcome, BaseException):
        return {"raised": type(outcome).__name__, "message": str(outcome)}
    results = outcome if isinstance(outcome, list) else [outcome]
    return [None if r is None else
            {"seq": r.seq, "type": r.type, "time": r.time, "outputs": list(r.outputs),
             "timers": [{"seq": t.seq, "type": t.type, "error": repr(t.error)}
                        for t in r.timers],
             "error": repr(r.error), "handled": r.handled} for r in results]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _short(value: Any, limit: int = 160) -> str:
    text = canonical(value).decode()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _differs(left: Any, right: Any, left_name: str = "restored",
             right_name: str = "never restored") -> str:
    """Where two documents (or their JSON) first differ and what each holds there:
    ``/context/public/todos/0: restored nothing, never restored {...}``."""
    if isinstance(left, bytes):
        left, right = orjson.loads(left), orjson.loads(right)
    found = first_difference(left, right)
    return found.describe(left_name, right_name) if found is not None else \
        "(equal as JSON, unequal as Python values)"


def _schema_strings(chart: Chart) -> frozenset[str]:
    """Every string of the chart's schemas (enum members, consts, names): the chart's own
    words, which a private bucket and a public part may share by design."""
    schemas = chart.schemas
    found: set[str] = set()
    parts = [schemas.input, schemas.public, schemas.private, *schemas.client.values(),
             *schemas.service.values(), *schemas.actor.values(), *schemas.output.values()]
    for validator in parts:
        if validator is not None:
            found.update(_strings(validator.schema))
    return frozenset(found)
