"""An actor's messages to and from other actors: the outbox of what its steps told with
``ctx.tell()`` and no delivery has taken out yet, the inbox's record of the last message taken
in from each sending actor, and the steps that take a message in (:meth:`Messages.receive`)
or out (:meth:`Messages.delivered`). :class:`~actorkit.Actor` is made of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from . import snapshot as snapshots
from .errors import EventRejected, Quarantined, StepError
from .events import ActorEvent, Caller
from .stepresult import StepResult

if TYPE_CHECKING:
    from sismic.model import MacroStep

    from .chart import Chart

__all__ = ["NO_MESSAGES", "Messages"]

#: Shared by every actor with no messages told or taken: never changed.
NO_MESSAGES: dict[str, bytes] = {}


class Messages:
    """The part of an :class:`~actorkit.Actor` that holds its messages (a base class of it,
    holding the slots of the outbox and the inbox)."""

    __slots__ = ("_inbox", "_outbox")

    # Messages told (ctx.tell) and not yet taken out by their delivery, oldest first:
    # {"seq", "index", "to", "event"[, "input"]}. And per sending actor (caller id), the
    # [seq, index] of the last message taken in: what is at or below it is a duplicate.
    _outbox: list[dict[str, Any]]
    _inbox: dict[str, list[int]]

    if TYPE_CHECKING:  # the actor's, which these methods read and step
        chart: Chart
        id: str
        record_steps: bool
        _quarantine: dict[str, Any] | None
        _final: str | None
        _seq: int
        _time: float
        _wakeup: float | None
        _now: Callable[[], float]
        _public_json: bytes
        _buckets: dict[str, bytes]
        _value_json: bytes
        _log: list[StepResult]

        def _event(self, caller: Caller, etype: str, payload: dict[str, Any], *,
                   message: tuple[int, int] | None = None) -> StepResult: ...

        def _step(self, caller: Caller, at: float, event: ActorEvent | None, *,
                  message: tuple[int, int] | None = None) -> StepResult: ...

        def _commit(self, seq: int, now: float, steps: list[MacroStep], public_json: bytes,
                    buckets: dict[str, bytes] | None, wakeup: float | None) -> None: ...

        def _rollback(self) -> None: ...

    @property
    def outbox(self) -> list[dict[str, Any]]:
        """The messages told with ``ctx.tell()`` and not delivered yet, oldest first: each
        ``{"seq", "index", "to": {"type", "id"}, "event": {"type", ...}}`` (and ``"input"``
        if told with one), ``seq`` the step that told it and ``index`` its place there."""
        return orjson.loads(orjson.dumps(self._outbox))  # type: ignore[no-any-return]

    @property
    def outbox_size(self) -> int:
        """How many messages wait in the :attr:`outbox`."""
        return len(self._outbox)

    @property
    def outbox_head(self) -> dict[str, Any] | None:
        """The oldest message of the :attr:`outbox` (a copy), the next to deliver."""
        return orjson.loads(orjson.dumps(self._outbox[0])) if self._outbox else None

    def receive(self, message: Mapping[str, Any], sender: Caller) -> StepResult | None:
        """Take in a message another actor told with ``ctx.tell()``: ``message`` as the
        sender's :attr:`outbox` holds it, ``sender`` the sending actor
        (:meth:`Caller.actor`). A step like :meth:`Actor.send`'s, with ``sender`` as its
        caller and the event checked against the ``actor:`` schemas; it is committed even if
        no transition takes it, and records the message as the last taken from ``sender``.
        A message at or below that record was taken already: ``None``, nothing runs."""
        if sender.type != "actor":
            raise EventRejected(f"messages come from actor callers, not {sender.type}")
        mark = (int(message["seq"]), int(message["index"]))
        last = self._inbox.get(sender.id)
        if last is not None and (last[0], last[1]) >= mark:
            return None
        etype, payload = self.chart.schemas.validate_event("actor", message["event"])
        return self._event(sender, etype, payload, message=mark)

    def delivered(self, seq: int, index: int, error: str | None = None,
                  failed: str | None = None) -> StepResult | None:
        """Take message ``(seq, index)``, the head of the :attr:`outbox`, out of it: its
        receiver took it (``error`` is ``None``: a ``DELIVERED`` step, which runs no chart
        code) or refused it (``error`` says why: a ``MESSAGE_FAILED`` step, which sends the
        chart ``MESSAGE_FAILED`` with ``{"to", "event", "error"}`` if it handles it; if that
        fails, the message is taken out all the same and the step's ``error`` says why).
        ``failed`` (a journal's replay) is that error: the handler is not run again.
        ``None`` if the head is another message (it was taken out already)."""
        head = self._outbox[0] if self._outbox else None
        if head is None or (head["seq"], head["index"]) != (seq, index):
            return None
        if self._quarantine is not None:
            raise Quarantined.of(self.chart.actor_type, self.id, self._quarantine)
        mark = (seq, index)
        now = max(self._now(), self._time)
        system = Caller.system(self.id)
        if error is None:
            return self._take_out(now, "DELIVERED", {"to": head["to"]}, mark)
        data = {"to": head["to"], "event": head["event"], "error": error}
        if failed is None and self._final is None and self.chart.handles("MESSAGE_FAILED"):
            self._outbox.pop(0)  # put back by the rollback if the step fails
            try:
                return self._step(system, now, ActorEvent("MESSAGE_FAILED", data, system),
                                  message=mark)
            except StepError as e:
                failed = str(e)
        return self._take_out(now, "MESSAGE_FAILED", data, mark, failed)

    def _take_out(self, now: float, etype: str, data: dict[str, Any], mark: tuple[int, int],
                  failed: str | None = None) -> StepResult:
        """Take the head of the outbox out in a step that runs no chart code."""
        self._outbox.pop(0)
        try:
            self._commit(self._seq + 1, now, [], self._public_json, None, self._wakeup)
        except BaseException:
            self._rollback()
            raise
        result = StepResult(self._seq, etype, Caller.system(self.id), self._time, data,
                            error=StepError(failed) if failed is not None else None,
                            view_parts=(self._public_json, self._buckets, self._value_json),
                            message=mark)
        if self.record_steps:
            self._log.append(result)
        return result

    def _messages_json(self) -> dict[str, bytes]:
        """The outbox and the inbox's records as canonical JSON, those that are not empty
        (a snapshot without messages has neither key)."""
        if not self._outbox and not self._inbox:  # most actors: nothing made per step
            return NO_MESSAGES
        parts = {"outbox": self._outbox, "inbox": self._inbox}
        return {k: snapshots.canonical(v) for k, v in parts.items() if v}

    def _messages_part(self, frozen: bool, messages: dict[str, bytes] | None
                       ) -> dict[str, Any]:
        """The snapshot's ``outbox`` and ``inbox`` keys (only those not empty); ``frozen``:
        as JSON (``messages`` if it is serialised already), sharing nothing a step changes."""
        if messages is None and not frozen:
            return {k: v for k, v in (("outbox", self._outbox), ("inbox", self._inbox)) if v}
        parts = self._messages_json() if messages is None else messages
        return {k: orjson.Fragment(v) for k, v in parts.items()}
