"""The embedded default: actors in one SQLite file (stdlib ``sqlite3``, write-ahead log).

``durability="process"`` (the default) survives the process being killed at any moment: a
committed transaction is in the WAL before the call returns (``synchronous=NORMAL``).
``durability="power"`` also survives the machine losing power (``synchronous=FULL``: an fsync
per commit).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import orjson

from ..events import Caller
from .base import Entry, Stored, StoreError

__all__ = ["SqliteStore"]

Durability = Literal["process", "power"]

# Journal rows are small and found by their key only: WITHOUT ROWID keeps them in one b-tree
# instead of a table and its key index (a commit: ~85 instead of ~110 us here). Snapshots
# are large rows, which SQLite's own advice keeps in an ordinary table.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS actors (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    snapshot BLOB NOT NULL,
    wake REAL,
    PRIMARY KEY (type, id)
);
-- covers wakes(): start() reads every pending wake-up from the index alone, in order
CREATE INDEX IF NOT EXISTS actors_wakes ON actors (wake, type, id) WHERE wake IS NOT NULL;
DROP INDEX IF EXISTS actors_wake;
CREATE TABLE IF NOT EXISTS journal (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    caller_type TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    event TEXT,
    data BLOB,
    error TEXT,
    PRIMARY KEY (type, id, seq)
) WITHOUT ROWID;
"""


class SqliteStore:
    """Actors in the SQLite file at ``path`` (made if missing)."""

    def __init__(self, path: str | Path, *, durability: Durability = "process") -> None:
        if durability not in ("process", "power"):
            raise ValueError(f"durability is 'process' or 'power', not {durability!r}")
        self.path = Path(path)
        self.durability = durability
        db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection, used from the event loop's thread; the lock guards the rare
            # call from another thread (a CLI, a test).
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            sync = "NORMAL" if durability == "process" else "FULL"
            db.execute(f"PRAGMA synchronous={sync}")
            db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as e:
            if db is not None:
                db.close()
            raise StoreError(f"cannot open the actor store {self.path}: {e}") from e
        self._db = db
        self._lock = threading.Lock()

    async def load(self, actor_type: str, actor_id: str) -> Stored | None:
        with self._lock:
            row = self._db.execute(
                "SELECT version, seq, snapshot FROM actors WHERE type = ? AND id = ?",
                (actor_type, actor_id)).fetchone()
        if row is None:
            return None
        return Stored(actor_type, actor_id, int(row[0]), int(row[1]), bytes(row[2]))

    async def commit(self, actor_type: str, actor_id: str, entries: Sequence[Entry],
                     snapshot: bytes, *, version: int, seq: int,
                     wake: float | None) -> None:
        rows = [(actor_type, actor_id, e.seq, e.time, e.kind, e.caller.type, e.caller.id,
                 e.type, orjson.dumps(e.data), e.error) for e in entries]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(
                        "INSERT INTO journal (type, id, seq, time, kind, caller_type, "
                        "caller_id, event, data, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows)
                    self._db.execute(
                        "INSERT INTO actors (type, id, version, seq, snapshot, wake) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET "
                        "version = excluded.version, seq = excluded.seq, "
                        "snapshot = excluded.snapshot, wake = excluded.wake",
                        (actor_type, actor_id, version, seq, snapshot, wake))
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError as e:
                last = self._db.execute("SELECT MAX(seq) FROM journal WHERE type = ? AND "
                                        "id = ?", (actor_type, actor_id)).fetchone()[0]
                taken = [x.seq for x in entries if last is not None and x.seq <= last]
                raise StoreError(f"journal of {actor_type}/{actor_id} already has step "
                                 f"{taken[0] if taken else '?'}: {e}") from e
            except sqlite3.Error as e:
                raise StoreError(f"could not commit {actor_type}/{actor_id} to {self.path}: "
                                 f"{e}") from e

    async def journal(self, actor_type: str, actor_id: str, *, after: int = -1,
                      limit: int = 100) -> list[Entry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, time, kind, caller_type, caller_id, event, data, error "
                "FROM journal WHERE type = ? AND id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (actor_type, actor_id, after, limit)).fetchall()
        return [Entry(int(r[0]), float(r[1]), r[2], Caller(r[3], r[4]), r[5],
                      orjson.loads(r[6]) if r[6] is not None else None, r[7]) for r in rows]

    async def wakes(self) -> list[tuple[float, str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT wake, type, id FROM actors WHERE wake IS NOT NULL "
                "ORDER BY wake, type, id"
            ).fetchall()
        return [(float(r[0]), r[1], r[2]) for r in rows]

    async def actor_ids(self, actor_type: str, *, after: str = "",
                        limit: int = 100) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT id FROM actors WHERE type = ? AND id > ? "
                                    "ORDER BY id LIMIT ?", (actor_type, after, limit)).fetchall()
        return [r[0] for r in rows]

    async def close(self) -> None:
        with self._lock:
            self._db.close()
