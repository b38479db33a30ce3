"""The store interface and what it holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import orjson

from ..errors import ActorkitError
from ..events import Caller

__all__ = ["Entry", "EntryKind", "StepTaken", "Store", "StoreError", "Stored"]

#: spawn: the actor was made (data: its input); event: a client or service event; system: a
#: lifecycle event (CONNECT, DISCONNECT, RESUME, MIGRATE); timer: a timer or wake-up step;
#: migrate: the snapshot was migrated to a new chart version (data: from, to, snapshot);
#: quarantine: the actor was put in quarantine (data: the reason); release: it was lifted;
#: message: an event another actor told (data: its fields as ``data`` and the ``message``'s
#: ``[seq, index]`` in the sender's outbox; the caller is the sending actor). A system entry
#: DELIVERED or MESSAGE_FAILED took message ``[seq, index]`` out of the actor's outbox.
EntryKind = Literal["spawn", "event", "system", "timer", "migrate", "quarantine", "release",
                    "message"]


T = TypeVar("T")


class StoreError(ActorkitError):
    """The store could not read or write; nothing was committed."""


class StepTaken(StoreError):
    """The store already has a step the commit would add: another writer went ahead of this
    copy of the actor, which is out of date (reload it from the store)."""


async def outcome(write: asyncio.Future[T]) -> T:
    """Await ``write``, a commit under way. A caller cancelled meanwhile still waits for it
    and gets its outcome (its result or its error; the cancellation is taken back): answering
    "cancelled" would leave it unable to tell stored from not stored, and the actor perhaps
    ahead of its store. A second cancellation is obeyed, and cancels ``write``."""
    try:
        return await asyncio.shield(write)
    except asyncio.CancelledError:
        if write.cancelled():
            raise
    try:
        return await write
    finally:
        task = asyncio.current_task()
        if not write.cancelled() and task is not None:
            task.uncancel()


@dataclass(frozen=True)
class Entry:
    """One committed step of an actor: what came in, from whom, when, and its sequence
    number. Replaying the entries of an actor, in order, rebuilds its state exactly."""

    seq: int
    time: float
    kind: EntryKind
    caller: Caller
    type: str | None
    data: Any = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as the journal endpoint shows it."""
        return {"seq": self.seq, "time": self.time, "kind": self.kind,
                "caller": self.caller.to_json(), "type": self.type, "data": self.data,
                "error": self.error}

    def data_json(self) -> bytes:
        return orjson.dumps(self.data)

    def page_bytes(self) -> int:
        """The bytes it takes in a journal page, at most (:func:`entry_bytes`)."""
        return entry_bytes(self.data_json(), self.error, self.type, self.caller.id)


#: What an entry takes in a journal page besides its data, error, type and caller id: its
#: keys, numbers and punctuation, and its share of the page's (at most; about 130 bytes).
ENTRY_FRAME = 160


def entry_bytes(data: bytes | None, *names: str | None) -> int:
    """The bytes one entry takes in a journal page, at most: ``data`` is its data's JSON,
    ``names`` its error, event type and caller id."""
    return ENTRY_FRAME + len(data or b"") + sum(len(n.encode()) for n in names if n)


def page(rows: Iterable[T], size: Callable[[T], int], max_bytes: int | None) -> list[T]:
    """The first of ``rows`` that fit in ``max_bytes`` as ``size`` counts them, and at least
    one; the rows after are not read."""
    taken: list[T] = []
    total = 0
    for row in rows:
        if max_bytes is not None:
            total += size(row)
            if taken and total > max_bytes:
                break
        taken.append(row)
    return taken


@dataclass(frozen=True)
class Stored:
    """An actor as its store has it: the snapshot of its last commit."""

    actor_type: str
    actor_id: str
    version: int
    seq: int
    snapshot: bytes


class Store(Protocol):
    """Where committed actor state lives. Every method is atomic: a :class:`StoreError` means
    nothing changed.

    The actor system runs each :meth:`commit` in a task of its own, so that a caller that gives
    up (a closed request) does not interrupt a write under way. A store whose commits finish
    on their own anyway (they never wait, or a caller cancelled while waiting still gets the
    outcome) can say so with a class attribute ``commits_outlive_cancel = True`` and save
    that task and its turn of the loop (about 15 us a commit).
    """

    async def load(self, actor_type: str, actor_id: str) -> Stored | None:
        """The actor's last committed snapshot, or ``None`` if it was never committed."""
        ...

    async def commit(self, actor_type: str, actor_id: str, entries: Sequence[Entry],
                     snapshot: bytes, *, version: int, seq: int,
                     wake: float | None) -> None:
        """In one transaction: append ``entries`` to the journal and make ``snapshot`` (at
        sequence number ``seq``, chart ``version``) the actor's state, due to wake at ``wake``.
        Refuses (:class:`StepTaken`) entries whose sequence numbers are already journaled."""
        ...

    async def journal(self, actor_type: str, actor_id: str, *, after: int = -1,
                      limit: int = 100, max_bytes: int | None = None) -> list[Entry]:
        """Journal entries with ``seq > after``, oldest first, at most ``limit`` and, with
        ``max_bytes``, no more of them than :func:`entry_bytes` counts within it, but always
        at least one (:func:`page`). A page never holds more than that in memory."""
        ...

    async def wakes(self) -> list[tuple[float, str, str]]:
        """Every actor with a wake-up pending: ``(due, actor_type, actor_id)``."""
        ...

    async def actor_ids(self, actor_type: str, *, after: str = "",
                        limit: int = 100) -> list[str]:
        """The ids of the stored actors of ``actor_type`` that sort after ``after``, in
        order, at most ``limit``."""
        ...

    async def close(self) -> None:
        """Release the store's resources."""
        ...
