"""Quarantine: an actor whose timer or lifecycle steps keep failing stops running anything.

A client's event that fails is that client's answer; a timer, a RESUME after a restart or a
CONNECT fails with nobody to tell, and may fail again on every wake-up, restart or
reconnection, each time taking up to a step's deadline. After ``quarantine_after`` such
failures in a row (errors or deadlines), the actor is put in quarantine: a step of its own in
its journal (kind ``quarantine``) and a mark in its stored snapshot, so it survives restarts.
A quarantined actor is not woken, not brought back, and its routes answer with why; an
operator lifts the quarantine (journal kind ``release``) once the chart is fixed.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import orjson

from .errors import ActorkitError, StepError
from .events import Caller
from .snapshot import dump, mark_quarantine
from .store.base import Entry, Store

__all__ = ["NotQuarantined", "Quarantines"]

log = logging.getLogger("actorkit")

Key = tuple[str, str]

#: Quarantined actors remembered in memory, so a request for one costs no store read.
_KNOWN = 10_000
#: Characters of the last failure kept in the reason.
_REASON = 600


class NotQuarantined(ActorkitError):
    """A quarantine to lift where there is none."""


class Quarantines:
    """The failures in a row of each actor's timer and lifecycle steps, and the actors known
    to be quarantined."""

    def __init__(self, after: int) -> None:
        self.after = after
        self._failures: dict[Key, int] = {}
        self._known: OrderedDict[Key, dict[str, Any]] = OrderedDict()

    def failed(self, key: Key, what: str, error: StepError) -> str | None:
        """Count a failure of a timer or lifecycle step (``what``: which); the reason to put
        the actor in quarantine once there are enough in a row, else ``None``."""
        count = self._failures.get(key, 0) + 1
        if count < self.after:
            self._failures[key] = count
            return None
        self._failures.pop(key, None)
        last = f"{type(error).__name__}: {error.step_message or error}"
        if len(last) > _REASON:
            last = last[:_REASON] + "..."
        return f"its timer or lifecycle steps failed {count} times in a row, the last one " \
               f"its {what} step ({last})"

    def succeeded(self, key: Key) -> None:
        """A timer or lifecycle step of the actor committed: the count starts again."""
        if self._failures:
            self._failures.pop(key, None)

    @property
    def counting(self) -> bool:
        """Whether some actor has failures counted (a success must then be noted)."""
        return bool(self._failures)

    def known(self, key: Key) -> dict[str, Any] | None:
        """The quarantine of ``key`` if it is known to be quarantined."""
        return self._known.get(key) if self._known else None

    def note(self, key: Key, info: dict[str, Any] | None) -> None:
        """Remember that ``key`` is quarantined (``info``) or is not (``None``)."""
        if info is None:
            self._known.pop(key, None)
            return
        self._known[key] = info
        self._known.move_to_end(key)
        while len(self._known) > _KNOWN:
            self._known.popitem(last=False)

    async def put(self, store: Store, key: Key, snapshot: bytes, reason: str,
                  now: float) -> bytes:
        """Store the actor ``key``, as ``snapshot``, in quarantine for ``reason``; return
        the snapshot stored."""
        snap = orjson.loads(snapshot)
        mark_quarantine(snap, reason, now)
        marked = await _commit(store, key, snap, "quarantine", {"reason": reason}, wake=None)
        self.note(key, snap["quarantine"])
        log.error("%s/%s is quarantined: %s; lift it once the chart is fixed (actorkit "
                  "quarantine lift %s %s, or DELETE /api/%s/%s/quarantine)", *key, reason,
                  *key, *key)
        return marked

    async def lift(self, store: Store, key: Key, now: float) -> int:
        """Lift the stored quarantine of ``key`` (:class:`NotQuarantined` if it has none),
        to be woken at ``now``; return the step of the release."""
        stored = await store.load(*key)
        snap = orjson.loads(stored.snapshot) if stored is not None else {}
        if snap.get("quarantine") is None:
            raise NotQuarantined(f"{key[0]}/{key[1]} is not quarantined: nothing to lift")
        mark_quarantine(snap, None, now)
        await _commit(store, key, snap, "release", None, wake=now)
        self.note(key, None)
        self.succeeded(key)
        log.warning("%s/%s: quarantine lifted", *key)
        return int(snap["seq"])

    @staticmethod
    async def of(store: Store, key: Key) -> dict[str, Any] | None:
        """Why the stored actor ``key`` is quarantined (``{"since", "reason"}``), or
        ``None``."""
        stored = await store.load(*key)
        if stored is None:
            return None
        info: dict[str, Any] | None = orjson.loads(stored.snapshot).get("quarantine")
        return info


async def _commit(store: Store, key: Key, snap: dict[str, Any], kind: Any, data: Any, *,
                  wake: float | None) -> bytes:
    """Store ``snap``, just marked, with its journal entry (a step of no code of the
    chart's)."""
    snapshot = dump(snap)
    seq = int(snap["seq"])
    entry = Entry(seq, float(snap["time"]), kind, Caller.system(key[1]), None, data)
    await store.commit(key[0], key[1], [entry], snapshot, version=snap["actor"]["version"],
                       seq=seq, wake=wake)
    return snapshot
