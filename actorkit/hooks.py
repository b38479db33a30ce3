"""Hook functions: the sismic evaluator that calls them, and the ``ctx`` object they receive.

In a chart with a ``hooks:`` module, an ``action``, ``guard``, ``on entry`` or ``on exit`` that
is a bare name (or a list of names) calls those functions as ``fn(ctx, event)``. Anything else is
inline Python with sismic's own semantics (``after()``, ``idle()``, ``active()``, ``send()``,
``event``), which can also use ``ctx``.
"""

from __future__ import annotations

import copy
import hashlib
import marshal
import math
import traceback
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from sismic.code import PythonEvaluator
from sismic.code.python import FrozenContext
from sismic.exceptions import CodeEvaluationError
from sismic.model import Event, StateMixin, Transition

from . import jsonvalue
from .deadline import Interrupted, guard
from .errors import HookError, OutputError, StepError
from .events import ActorInternalEvent, Caller

if TYPE_CHECKING:
    from .engine import ActorInterpreter
    from .schemas import Validator

__all__ = ["Ctx", "HookEvaluator", "PrivateBuckets", "Timer", "frozen_context"]

HookFn = Callable[..., Any]

# Deterministic ids: uuid5 of (actor type, actor id, sequence number, n-th id of the step).
_ID_NAMESPACE = uuid.UUID("6f0b9d8e-4a1c-5e7b-9d3f-a2c4e6f8b0d1")

_GUARD, _ACTION = "guard", "action"


def _uuid5(name: bytes) -> str:
    """``str(uuid.uuid5(_ID_NAMESPACE, name))``, without building UUID objects (5x faster)."""
    raw = bytearray(hashlib.sha1(_ID_NAMESPACE.bytes + name).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class PrivateBuckets(dict[str, Any]):
    """``context.private``: one bucket per caller id, created from the chart's default on first
    use. It remembers which buckets a step touched so only those are checked against the
    private schema after the step."""

    __slots__ = ("default", "touched")

    def __init__(self, data: Mapping[str, Any], default: bytes) -> None:
        super().__init__(data)
        self.default = default  # JSON of the default bucket
        self.touched: set[str] | None = set()  # None: every bucket may have changed

    def __missing__(self, key: str) -> Any:
        if not isinstance(key, str):
            raise TypeError(f"private buckets are keyed by caller id (a str), not {key!r}")
        bucket = orjson.loads(self.default)
        dict.__setitem__(self, key, bucket)
        return bucket

    def _touch(self, key: Any) -> None:
        if self.touched is not None:
            self.touched.add(key)

    def _touch_all(self) -> None:
        self.touched = None

    def __getitem__(self, key: str) -> Any:
        self._touch(key)
        return dict.__getitem__(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._touch(key)
        dict.__setitem__(self, key, value)

    def get(self, key: str, default: Any = None) -> Any:
        self._touch(key)
        return dict.get(self, key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._touch(key)
        return dict.setdefault(self, key, default)

    def pop(self, key: str, *default: Any) -> Any:
        self._touch(key)
        return dict.pop(self, key, *default)

    def values(self) -> Any:
        self._touch_all()
        return dict.values(self)

    def items(self) -> Any:
        self._touch_all()
        return dict.items(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._touch_all()
        dict.update(self, *args, **kwargs)

    def copy(self) -> dict[str, Any]:
        self._touch_all()
        return dict(dict.items(self))

    def view(self, caller_id: str) -> Any:
        """The bucket of ``caller_id`` (or the default), without creating or touching it."""
        bucket = dict.get(self, caller_id)
        return bucket if bucket is not None else orjson.loads(self.default)


class Timer:
    """A pending ``ctx.schedule()``: the event ``type`` with ``data``, due at ``due``, dropped
    as soon as a step ends with the state ``within`` no longer active (``None``: never).

    ``floating`` marks a timer armed in this step whose state is still to be settled when the
    step ends: ``within`` or, if that was left, its innermost ancestor still active.
    """

    __slots__ = ("data", "due", "floating", "id", "type", "within")

    def __init__(self, id: str, due: float, type: str, data: dict[str, Any],
                 within: str | None = None, *, floating: bool = False) -> None:
        self.id, self.due, self.type, self.data, self.within = id, due, type, data, within
        self.floating = floating

    def to_json(self) -> dict[str, Any]:
        d = {"id": self.id, "due": self.due, "type": self.type, "data": self.data}
        if self.within is not None:
            d["within"] = self.within
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Timer:
        return cls(d["id"], float(d["due"]), d["type"], dict(d["data"]), d.get("within"))


def _json(value: Any, what: str) -> Any:
    try:
        return jsonvalue.copy(value)
    except jsonvalue.NotJSON as e:
        raise TypeError(f"{what} must be plain JSON: {e}") from None


class Ctx:
    """What a hook receives as ``ctx``: the context, who is calling, and what it may do.

    Attributes: ``public``, ``private`` (buckets by caller id), ``caller``, ``actor_id``,
    ``actor_type``, ``input``, ``initial_caller``, ``now`` (epoch seconds of this step),
    ``seq`` (the sequence number this step will commit as), ``state`` (the state whose hook
    runs; for transitions, their source) and ``context`` (the whole context, including
    internal keys no caller sees).
    """

    __slots__ = (
        "_entering", "_ids", "_input", "_input_json", "_interp", "_mode", "_outputs", "_schemas",
        "_sent", "_timers", "_told", "actor_id", "actor_type", "caller", "context",
        "initial_caller", "now", "seq", "state",
    )

    def __init__(
        self,
        *,
        interp: ActorInterpreter,
        context: dict[str, Any],
        caller: Caller,
        actor_id: str,
        actor_type: str,
        input_json: bytes,
        initial_caller: Caller,
        now: float,
        seq: int,
        timers: list[Timer],
        outputs: Mapping[str, Validator],
    ) -> None:
        self._interp = interp
        self.context = context
        self.caller = caller
        self.actor_id = actor_id
        self.actor_type = actor_type
        self._input_json = input_json
        self._input: dict[str, Any] | None = None
        self.initial_caller = initial_caller
        self.now = now
        self.seq = seq
        self.state: str | None = None
        self._entering = False  # running an on-entry hook (of ``state``)
        self._timers = timers
        self._schemas = outputs
        self._ids = 0
        self._mode = _ACTION
        self._sent: list[Event] = []
        self._outputs: list[dict[str, Any]] = []
        self._told: list[dict[str, Any]] = []

    @property
    def input(self) -> dict[str, Any]:
        """The input the actor was spawned with (this step's own copy)."""
        if self._input is None:
            self._input = orjson.loads(self._input_json)
        return self._input

    # -- the context -----------------------------------------------------------------------

    @property
    def public(self) -> Any:
        """``context.public``: what every caller sees."""
        return self.context["public"]

    @public.setter
    def public(self, value: Any) -> None:
        self.context["public"] = value

    @property
    def private(self) -> PrivateBuckets:
        """``context.private``: one bucket per caller id, each seen only by that caller."""
        return self.context["private"]  # type: ignore[no-any-return]

    @property
    def mine(self) -> Any:
        """The private bucket of the current caller (created from the default if new)."""
        return self.context["private"][self.caller.id]

    # -- effects -----------------------------------------------------------------------------

    def _effect(self, what: str) -> None:
        if self._mode == _GUARD:
            raise HookError(f"ctx.{what}() was called from a guard; guards must not have "
                            f"effects: move it to an action", hook=what, where=_GUARD)

    def new_id(self) -> str:
        """A new unique id, the same every time the same events are replayed."""
        self._ids += 1
        name = f"{self.actor_type}/{self.actor_id}/{self.seq}/{self._ids}".encode()
        return _uuid5(name)

    def send(self, type: str, **data: Any) -> None:
        """Send an internal event; it runs right after the current step, before any other."""
        self._effect("send")
        self._sent.append(ActorInternalEvent(type, _json(data, f"data of {type}"), self.caller))

    def schedule(self, type: str, *, delay: float, within: str | None = None,
                 **data: Any) -> str:
        """Send ``type`` to this actor ``delay`` seconds from now; returns the timer's id.

        The timer is part of the actor's state: it is snapshotted and survives restores.
        Like an ``after()``, it belongs to a state and is dropped when that state is left:
        ``within`` if given (the root state: the actor's whole life), else the state whose
        hook armed it. For an on-entry hook that is the state entered; for a transition or
        an on-exit hook, the innermost state the hook ran in that is still active when the
        step ends (for a transition between siblings, their parent).
        """
        self._effect("schedule")
        if not isinstance(delay, int | float) or delay < 0:
            raise ValueError(f"delay must be a number of seconds >= 0, not {delay!r}")
        if within is not None and within not in self._interp.statechart.states:
            raise ValueError(f"within={within!r} is not a state of this chart: name the state "
                             f"whose exit should drop the timer")
        floating = within is None and not self._entering
        timer = Timer(self.new_id(), self.now + float(delay), type,
                      _json(data, f"data of {type}"), within or self.state, floating=floating)
        self._timers.append(timer)
        self._timers.sort(key=lambda t: (t.due, t.id))
        return timer.id

    def cancel(self, timer_id: str) -> bool:
        """Cancel a timer made by :meth:`schedule`; ``False`` if it was not pending."""
        self._effect("cancel")
        for i, timer in enumerate(self._timers):
            if timer.id == timer_id:
                del self._timers[i]
                return True
        return False

    def emit(self, type: str, **data: Any) -> None:
        """Emit an output event (declared under ``output:`` in the schemas) to the callers."""
        self._effect("emit")
        validator = self._schemas.get(type)
        if validator is None:
            raise OutputError(f"output event {type!r} is not declared: add it under `output:` "
                              f"in the schemas file")
        payload = _json(data, f"output event {type}")
        problem = validator.error(payload)
        if problem is not None:
            at = f" at {problem[1]}" if problem[1] else ""
            raise OutputError(f"output event {type} breaks its schema{at}: {problem[0]}")
        self._outputs.append({"type": type, **payload})

    def tell(self, actor_type: str, actor_id: str, type: str, *, input: Any = None,
             **data: Any) -> None:
        """Send event ``type`` with ``data`` to actor ``actor_id`` of type ``actor_type``.

        It leaves only if this step commits: it waits in this actor's outbox, stored with the
        step, and is delivered after it, once, in the order told. The receiver checks it
        against the ``actor:`` section of its schemas and sees this actor as its caller. A
        receiver that does not exist is spawned with ``input`` if its chart's
        ``spawned_by:`` names this actor's type (so ``input`` is no event field here). A
        refused or failing delivery comes back as the system event ``MESSAGE_FAILED``.
        """
        self._effect("tell")
        for what, value in (("actor_type", actor_type), ("actor_id", actor_id), ("type", type)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"ctx.tell(): {what} must be a non-empty string, not "
                                 f"{value!r}")
        message: dict[str, Any] = {
            "to": {"type": actor_type, "id": actor_id},
            "event": {"type": type, **_json(data, f"data of {type} told to {actor_type}")}}
        if input is not None:
            message["input"] = _json(input, f"input of {actor_type}/{actor_id}")
        self._told.append(message)

    # -- questions about the chart ------------------------------------------------------------

    def active(self, name: str) -> bool:
        """Whether state ``name`` is active."""
        return name in self._interp._configuration

    def after(self, seconds: float) -> bool:
        """In a guard: has the transition's source state been active for ``seconds``?"""
        return self._since(self._interp._entry_time, seconds)

    def idle(self, seconds: float) -> bool:
        """In a guard: has the source state fired no transition for ``seconds``?"""
        return self._since(self._interp._idle_time, seconds)

    def _since(self, times: dict[str, float], seconds: float) -> bool:
        if self.state is None:
            raise HookError("ctx.after()/ctx.idle() only make sense in a guard",
                            hook="after", where=_GUARD)
        return _elapsed(self._interp, times[self.state], seconds)


def _elapsed(interp: ActorInterpreter, since: float, seconds: float) -> bool:
    # sismic's own comparison, float for float: `since + seconds <= time` is not the same
    # test (a state entered at 3.2 with after(10) passes it at 13.2, sismic's does not).
    if interp.time - seconds >= since:
        return True
    interp.note_deadline(_due_time(since, seconds))
    return False


def _due_time(since: float, seconds: float) -> float:
    """The first instant at which sismic's ``after(seconds)``/``idle(seconds)`` holds for a
    state entered (or last idle) at ``since``: the least float ``t`` with
    ``t - seconds >= since``. ``since + seconds`` can be an ulp or two off either way."""
    due = since + seconds
    while due - seconds < since:
        due = math.nextafter(due, math.inf)
    while (earlier := math.nextafter(due, -math.inf)) - seconds >= since:
        due = earlier
    return due


def _none() -> None:
    return None


def _hook_location(exc: BaseException, module_file: str | None) -> str:
    """`` at hooks/todo.py:14`` for the innermost frame of the hooks module, if any."""
    if module_file is None:
        return ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == module_file]
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


class HookEvaluator(PythonEvaluator):  # type: ignore[misc]
    """sismic's Python evaluator, extended: bare names call hook functions, and ``ctx``,
    ``after()``/``idle()`` deadlines and the triggering event reach every piece of code."""

    def __init__(
        self,
        interpreter: Any = None,
        *,
        initial_context: Mapping[str, Any] | None = None,
        plans: Mapping[str, tuple[HookFn, ...]],
        code_cache: tuple[dict[str, Any], dict[str, Any]],
        hooks_file: str | None,
        run_preamble: bool,
    ) -> None:
        super().__init__(interpreter, initial_context=initial_context)
        # One compiled-code cache per chart, not per actor: saves ~1.5 KB per actor.
        self._evaluable_code, self._executable_code = code_cache
        self._plans = plans
        self._hooks_file = hooks_file
        self._run_preamble = run_preamble
        self.ctx: Ctx | None = None

    # The interpreter owns its evaluator; a weak link back leaves no reference cycle, so an
    # actor put away is freed at once instead of waiting for a full garbage collection.
    @property
    def _interpreter(self) -> Any:
        return self._interpreter_ref()

    @_interpreter.setter
    def _interpreter(self, interpreter: Any) -> None:
        self._interpreter_ref = weakref.ref(interpreter) if interpreter is not None else _none

    def execute_statechart(self, statechart: Any) -> None:
        # The preamble initialises a new actor; a restored one already has its context.
        if self._run_preamble:
            super().execute_statechart(statechart)

    # -- dispatch ----------------------------------------------------------------------------

    def _call(self, plan: tuple[HookFn, ...], event: Event | None, where: Callable[[], str],
              ) -> Any:
        ctx = self.ctx
        assert ctx is not None, "hooks run only inside an actor step"
        result = None
        for fn in plan:
            if guard.status is not None:  # in a worker process: show which hook runs
                guard.status.hook(fn.__name__)
            try:
                result = fn(ctx, event)
            except StepError:
                raise
            except Interrupted as e:
                e.ran(fn.__name__, where(), f"hook `{fn.__name__}` ({where()})")
                raise
            except Exception as e:
                at = _hook_location(e, self._hooks_file)
                raise HookError(f"hook `{fn.__name__}` ({where()}) raised "
                                f"{_describe_error(e)}{at}",
                                hook=fn.__name__, where=where()) from e
        return result

    def _inline(self, run: Callable[[], Any], code: str, where: Callable[[], str]) -> Any:
        if guard.status is not None:
            guard.status.hook(f"inline code `{_short(code)}`")
        try:
            return run()
        except StepError:
            raise
        except Interrupted as e:
            e.ran(code, where(), f"inline code `{_short(code)}` ({where()})")
            raise
        except CodeEvaluationError as e:
            cause = e.__cause__ if e.__cause__ is not None else e
            if isinstance(cause, StepError):
                raise cause from None
            raise HookError(f"inline code `{_short(code)}` ({where()}) raised "
                            f"{_describe_error(cause)}", hook=code, where=where()) from cause
        except SyntaxError as e:
            raise HookError(f"inline code `{_short(code)}` ({where()}) does not compile: "
                            f"{e.msg}", hook=code, where=where()) from e

    def _take_sent(self, extra: Iterable[Event] = ()) -> list[Event]:
        ctx = self.ctx
        assert ctx is not None
        sent = [*extra, *ctx._sent] if ctx._sent else list(extra)
        ctx._sent = []
        return sent

    def evaluate_guard(self, transition: Transition, event: Event | None = None) -> bool | None:
        code = transition.guard
        if code is None:
            return None
        ctx = self.ctx
        assert ctx is not None
        def where() -> str:
            return f"guard of {_describe(transition)}"

        ctx.state, ctx._mode = transition.source, _GUARD
        try:
            plan = self._plans.get(code)
            if plan is not None:
                return bool(self._call(plan, event, where))
            interp = self._interpreter
            entry, idle = interp._entry_time, interp._idle_time
            source = transition.source
            extra = {
                "after": lambda seconds: _elapsed(interp, entry[source], seconds),
                "idle": lambda seconds: _elapsed(interp, idle[source], seconds),
                "event": event,
                "ctx": ctx,
            }
            return self._inline(  # type: ignore[no-any-return]
                lambda: self._evaluate_code(code, additional_context=extra), code, where)
        finally:
            ctx._mode = _ACTION

    def execute_action(self, transition: Transition, event: Event | None = None) -> list[Event]:
        code = transition.action
        if not code:
            return []
        ctx = self.ctx
        assert ctx is not None
        ctx.state, ctx._entering = transition.source, False

        def where() -> str:
            return f"action of {_describe(transition)}"

        plan = self._plans.get(code)
        if plan is not None:
            self._call(plan, event, where)
            return self._take_sent()
        sent = self._inline(lambda: self._execute_code(
            code, additional_context={"event": event, "ctx": ctx}), code, where)
        return self._take_sent(sent)

    def _state_code(self, state: StateMixin, code: str | None, which: str) -> list[Event]:
        if not code:
            return []
        ctx = self.ctx
        assert ctx is not None
        ctx.state, ctx._entering = state.name, which == "on entry"
        event = self._interpreter.current_event

        def where() -> str:
            return f"{which} of state {state.name!r}"

        plan = self._plans.get(code)
        if plan is not None:
            self._call(plan, event, where)
            return self._take_sent()
        sent = self._inline(lambda: self._execute_code(
            code, additional_context={"event": event, "ctx": ctx}), code, where)
        return self._take_sent(sent)

    def evaluate_preconditions(self, obj: Any, event: Event | None = None) -> Iterator[str]:
        # sismic's own, but __old__ (what invariants and postconditions compare with) is a
        # deep copy of the context. sismic copies each variable shallowly, and an actor's
        # context is two variables holding everything: __old__.public shared every list and
        # dict a hook changes in place, so it changed with the step (a postcondition compared
        # the new context with itself) and differed from the one a restored actor read from
        # its snapshot. Only charts with contracts call this.
        if getattr(obj, "invariants", None) or getattr(obj, "postconditions", None):
            self._memory[id(obj)] = frozen_context(_deep_copy(self._context))
        interp = self._interpreter
        extra = {
            "received": lambda name: name == getattr(event, "name", None),
            "sent": lambda name: name in [e.name for e in interp._sent_events],
            "event": event,
        }
        return filter(lambda c: not self._evaluate_code(c, additional_context=extra),
                      getattr(obj, "preconditions", []))

    def execute_on_entry(self, state: StateMixin) -> list[Event]:
        return self._state_code(state, getattr(state, "on_entry", None), "on entry")

    def execute_on_exit(self, state: StateMixin) -> list[Event]:
        return self._state_code(state, getattr(state, "on_exit", None), "on exit")


def frozen_context(variables: dict[str, Any]) -> FrozenContext:
    """sismic's ``__old__`` holding ``variables`` as they are (not copied again)."""
    frozen = FrozenContext.__new__(FrozenContext)
    frozen.__setstate__(variables)
    return frozen


def _deep_copy(context: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``context`` sharing nothing with it, each value of the type it has (a tuple
    stays a tuple, as in sismic's copy), the private buckets a plain dict (as a restored
    actor has them)."""
    plain = {k: dict(v) if isinstance(v, PrivateBuckets) else v for k, v in context.items()}
    try:
        return marshal.loads(marshal.dumps(plain))  # type: ignore[no-any-return]
    except ValueError:  # something marshal cannot write (an object of the chart's own class)
        return copy.deepcopy(plain)


def _describe_error(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    if isinstance(e, MemoryError) and guard.status is not None:
        text += " (a step that runs in a worker process has ACTORKIT_STEP_MEMORY bytes)"
    return text


def _short(code: str) -> str:
    line = code.strip().splitlines()[0] if code.strip() else code
    return line if len(line) <= 60 and "\n" not in code.strip() else line[:57] + "..."


def _describe(t: Transition) -> str:
    on = f"on {t.event}" if t.event else "(eventless)"
    to = f" -> {t.target}" if t.target else ""
    return f"transition {t.source} {on}{to}"
