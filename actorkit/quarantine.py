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

from collections import OrderedDict
from typing import Any

import orjson

from .errors import StepError
from .events import Caller
from .snapshot import quarantined, released
from .store.base import Entry

__all__ = ["Quarantines", "quarantine_step", "release_step"]

Key = tuple[str, str]

#: Quarantined actors remembered in memory, so a request for one costs no store read.
_KNOWN = 10_000
#: Characters of the last failure kept in the reason.
_REASON = 600


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


def quarantine_step(snapshot: bytes, actor_id: str, reason: str,
                    now: float) -> tuple[bytes, Entry, int]:
    """The stored ``snapshot`` put in quarantine: the new snapshot, its journal entry and its
    sequence number."""
    marked = quarantined(snapshot, reason, now)
    return marked, *_entry(marked, actor_id, "quarantine", {"reason": reason})


def release_step(snapshot: bytes, actor_id: str, now: float) -> tuple[bytes, Entry, int]:
    """The stored ``snapshot`` with its quarantine lifted: the new snapshot, its journal
    entry and its sequence number."""
    freed = released(snapshot, now)
    return freed, *_entry(freed, actor_id, "release", None)


def _entry(snapshot: bytes, actor_id: str, kind: Any, data: Any) -> tuple[Entry, int]:
    snap = orjson.loads(snapshot)
    seq = int(snap["seq"])
    return Entry(seq, float(snap["time"]), kind, Caller.system(actor_id), None, data), seq
