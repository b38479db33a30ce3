"""An actor's commit: after each step that commits, the actor keeps its state as canonical
JSON bytes (made when first asked for), which is what a rollback restores, what
:meth:`Commit.snapshot` returns and what a store writes; and the state's size, which the
chart's ``max_state:`` bounds. :class:`~actorkit.Actor` is made of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from . import jsonvalue
from . import snapshot as snapshots
from .context import checked_json, refuse_non_json
from .errors import BoundError, ContextError
from .hooks import PrivateBuckets, Timer
from .messages import NO_MESSAGES, Messages
from .schemas import pointer
from .statevalue import StateValue
from .stepresult import final_state

if TYPE_CHECKING:
    from sismic.model import MacroStep

    from .engine import ActorInterpreter, StepClock
    from .events import Caller
    from .hooks import HookEvaluator

__all__ = ["NO_BUCKETS", "Commit"]

#: Shared by every actor without private buckets: it is replaced, never changed, on a commit.
NO_BUCKETS: dict[str, bytes] = {}


class Commit(Messages):
    """The part of an :class:`~actorkit.Actor` that commits a step's state, brings the
    committed state back and makes its snapshot (a base class of it, holding the slots of
    the committed state)."""

    __slots__ = ("_buckets", "_committed", "_final", "_private_json", "_public_json",
                 "_quarantine", "_seq", "_size", "_time", "_timers", "_unsaved", "_value",
                 "_value_json", "_wakeup")

    _seq: int
    _time: float
    _timers: list[Timer]
    _wakeup: float | None
    _final: str | None
    _quarantine: dict[str, Any] | None
    _value: StateValue
    # The committed view parts as canonical JSON: the commit snapshot is assembled from
    # them, and views are made from them without serialising anything again.
    _value_json: bytes
    _public_json: bytes
    _private_json: bytes
    _buckets: dict[str, bytes]
    # The committed state as canonical JSON, made when first asked for: until then (a step
    # whose state nobody read before the next step replaced it) its parts, frozen.
    _committed: bytes
    _unsaved: dict[str, Any] | None
    _size: int  # bytes of the committed state, as max_state counts them

    if TYPE_CHECKING:  # the actor's own, which these methods read
        max_state: int | None
        on_commit: Callable[[list[MacroStep]], None] | None
        _interp: ActorInterpreter
        _evaluator: HookEvaluator
        _clock: StepClock
        _input_json: bytes
        _initial_caller: Caller

    def snapshot(self) -> dict[str, Any]:
        """The actor's committed state as plain JSON, for :meth:`Actor.restore`."""
        return orjson.loads(self.snapshot_json())  # type: ignore[no-any-return]

    def snapshot_json(self) -> bytes:
        """:meth:`snapshot` as canonical JSON bytes (sorted keys): equal states, equal bytes;
        the same object until the next commit."""
        if self._unsaved is not None:
            self._committed = snapshots.dump(self._unsaved)
            self._unsaved = None
        return self._committed

    def _commit(self, seq: int, now: float, steps: list[MacroStep], public_json: bytes,
                buckets: dict[str, bytes] | None, wakeup: float | None) -> None:
        value = self._compute_value(steps)
        value_json = self._value_json if value is self._value else self.chart.json_of(value)
        private_json = self._private_json if buckets is None else snapshots.join(buckets)
        context = {k: v for k, v in self._evaluator._context.items()
                   if k not in ("public", "private")}
        seq_was, time_was, wakeup_was = self._seq, self._time, self._wakeup
        self._seq, self._time, self._wakeup = seq, now, wakeup
        # The state's size, from the parts serialised anyway (see _measure).
        size = len(public_json) + len(private_json) + len(value_json) + len(self._input_json)
        if self._outbox or self._inbox:
            messages = self._messages_json()
            size += sum(map(len, messages.values()))
        else:  # most steps of most actors: nothing more to make or count
            messages = NO_MESSAGES
        try:
            # Every part the next step could change in place is frozen as JSON now; the
            # whole is serialised when someone asks for it (a batch stores only its last).
            for key, part in context.items():
                data = snapshots.canonical(part)
                if jsonvalue.not_json(part, data, "") is not None:
                    refuse_non_json(part, pointer([key]), "")
                context[key] = orjson.Fragment(data)
                size += len(data)
            context["public"] = orjson.Fragment(public_json)
            context["private"] = orjson.Fragment(private_json)
            timers = snapshots.canonical([t.to_json() for t in self._timers]) \
                if self._timers else None
            snap = self._snapshot_dict(value=orjson.Fragment(value_json), context=context,
                                       frozen=True, timers=timers, messages=messages)
            if snap.get("old") or snap["queue"]:  # contract memory, queued event data
                committed, unsaved = snapshots.dump(snap), None
                for name in ("queue", "old"):  # sismic's own send() data is not checked
                    if snap.get(name) and jsonvalue.not_json(snap[name], committed, ""):
                        refuse_non_json(snap[name], f"/{name}", "")
            else:
                committed, unsaved = b"", snap
                size += len(timers or b"")
            limit = self.max_state
            if limit is not None and size > limit and size > self._size:
                raise BoundError(f"the actor's state would be {size:,} bytes, past its limit "
                                 f"of {limit:,} (the chart's `max_state:`, else the server's "
                                 f"ACTORKIT_MAX_STATE): the event cannot apply to the actor "
                                 f"as it is, and changed nothing")
        except (ContextError, TypeError) as e:
            self._seq, self._time, self._wakeup = seq_was, time_was, wakeup_was
            if isinstance(e, TypeError):
                internal = {k: v for k, v in self._evaluator._context.items()
                            if k not in ("public", "private")}
                checked_json(internal, "")  # says where the context stopped being JSON
            raise
        self._committed, self._unsaved = committed, unsaved
        self._size = size
        self._value, self._value_json = value, value_json
        self._public_json, self._private_json = public_json, private_json
        if buckets is not None:
            self._buckets = buckets
        if steps and self.on_commit is not None:
            self.on_commit(steps)

    def _measure(self) -> int:
        """The state's size as :attr:`max_state` counts it: its context, state value, timers
        and input as JSON, all of the snapshot but a few hundred bytes of its frame (and
        sismic's queued events). :meth:`_commit` counts the same from what it serialises."""
        internal = [snapshots.canonical(v) for k, v in self._evaluator._context.items()
                    if k not in ("public", "private")]
        timers = snapshots.canonical([t.to_json() for t in self._timers]) if self._timers \
            else b""
        return len(self._public_json) + len(self._private_json) + len(self._value_json) + \
            len(self._input_json) + sum(map(len, internal)) + len(timers) + \
            sum(map(len, self._messages_json().values()))

    def _rollback(self) -> None:
        if self._committed or self._unsaved is not None:
            self._apply(orjson.loads(self.snapshot_json()))

    def _compute_value(self, steps: list[MacroStep] | None = None) -> StateValue:
        interp = self._interp
        if self._final is None and steps is not None and interp.final:
            self._final = final_state(steps, interp.statechart.root)
        if self._final is not None:
            return self._final
        value: StateValue = self.chart.value_of(interp._configuration)
        return value

    # -- snapshots ---------------------------------------------------------------------------

    def _snapshot_dict(self, *, value: Any = None, context: Any = None,
                       frozen: bool = False, timers: bytes | None = None,
                       messages: dict[str, bytes] | None = None) -> dict[str, Any]:
        """The snapshot as a dict; ``frozen``: sharing nothing a later step changes in place
        (timers as JSON, ``timers`` if they are serialised already; the interpreter's times
        copied)."""
        shown: Any
        if timers is not None:
            shown = orjson.Fragment(timers)
        else:
            listed = [t.to_json() for t in self._timers]
            shown = orjson.Fragment(snapshots.canonical(listed)) if frozen and listed \
                else listed
        return {
            "format": snapshots.FORMAT,
            "actor": {"type": self.chart.actor_type, "id": self.id,
                      "version": self.chart.version},
            "seq": self._seq,
            "time": self._time,
            "input": orjson.Fragment(self._input_json),
            "initialCaller": self._initial_caller.to_json(),
            "value": self._value if value is None else value,
            "final": self._final,
            **snapshots.capture(self.chart, self._interp, copy=frozen),
            "context": self._evaluator._context if context is None else context,
            "timers": shown,
            "wakeup": self._wakeup,
            **({} if self._quarantine is None else {"quarantine": self._quarantine}),
            **(self._messages_part(frozen, messages) if self._outbox or self._inbox else {}),
        }

    def _apply(self, snap: dict[str, Any]) -> None:
        context = snap["context"]
        context["private"] = PrivateBuckets(context.get("private") or {},
                                            self.chart.default_private)
        self._evaluator._context = context
        snapshots.apply(self.chart, self._interp, snap)
        self._clock.now = self._interp._time
        self._seq = int(snap["seq"])
        self._time = float(snap["time"])
        self._timers = [Timer.from_json(t) for t in snap["timers"]]
        self._wakeup = None if snap["wakeup"] is None else float(snap["wakeup"])
        self._final = snap.get("final")
        self._quarantine = snap.get("quarantine")
        self._outbox = list(snap.get("outbox") or [])
        self._inbox = dict(snap.get("inbox") or {})
        self._value = self._compute_value()
        self._value_json = self.chart.json_of(self._value)
        self._public_json = snapshots.canonical(context.get("public", {}))
        self._buckets = {k: snapshots.canonical(v)
                         for k, v in context["private"].copy().items()} or NO_BUCKETS
        self._private_json = snapshots.join(self._buckets)
