"""A store in this process's memory: for tests and for charts with ``persisted: false``."""

from __future__ import annotations

from collections.abc import Sequence

from .base import Entry, StepTaken, Stored, page

__all__ = ["MemoryStore"]


class MemoryStore:
    """Snapshots and journals in dictionaries; gone when the process ends."""

    #: A commit never waits, so a cancelled caller cannot interrupt it (see :class:`Store`).
    commits_outlive_cancel = True

    def __init__(self, *, journal: bool = True) -> None:
        self._actors: dict[tuple[str, str], Stored] = {}
        self._wakes: dict[tuple[str, str], float] = {}
        self._journal: dict[tuple[str, str], list[Entry]] = {}
        self._keep_journal = journal

    async def load(self, actor_type: str, actor_id: str) -> Stored | None:
        return self._actors.get((actor_type, actor_id))

    async def commit(self, actor_type: str, actor_id: str, entries: Sequence[Entry],
                     snapshot: bytes, *, version: int, seq: int,
                     wake: float | None) -> None:
        key = (actor_type, actor_id)
        journal = self._journal.setdefault(key, [])
        last = journal[-1].seq if journal else -1
        for entry in entries:  # every one, before anything changes
            if entry.seq <= last:
                raise StepTaken(f"journal of {actor_type}/{actor_id} already has step "
                                 f"{entry.seq}")
            last = entry.seq
        if self._keep_journal:
            journal.extend(entries)
        self._actors[key] = Stored(actor_type, actor_id, version, seq, snapshot)
        if wake is None:
            self._wakes.pop(key, None)
        else:
            self._wakes[key] = wake

    async def journal(self, actor_type: str, actor_id: str, *, after: int = -1,
                      limit: int = 100, max_bytes: int | None = None) -> list[Entry]:
        entries = self._journal.get((actor_type, actor_id), [])
        found = [e for e in entries if e.seq > after][:limit]
        return page(found, Entry.page_bytes, max_bytes)

    async def wakes(self) -> list[tuple[float, str, str]]:
        return sorted((due, t, i) for (t, i), due in self._wakes.items())

    async def actor_ids(self, actor_type: str, *, after: str = "",
                        limit: int = 100) -> list[str]:
        return sorted(i for t, i in self._actors if t == actor_type and i > after)[:limit]

    async def close(self) -> None:
        return None
