"""The embedded default: actors in one SQLite file (stdlib ``sqlite3``, write-ahead log).

``durability="process"`` (the default) survives the process being killed at any moment: a
committed transaction is in the WAL before the call returns (``synchronous=NORMAL``).
``durability="power"`` also survives the machine losing power (``synchronous=FULL``: an fsync
per commit).

The commits that arrive in one turn of the event loop, from any number of actors, share one
transaction (each actor's under a savepoint, so a refused one refuses only itself). With
``durability="power"`` that shares the fsync: 16 actors committing at once run at 0.45-0.49x
of the memory store instead of 0.27-0.29x (``bench/store.py``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import orjson

from ..company import Company
from ..events import Caller
from .base import Entry, Stored, StoreError, outcome

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


class _Write:
    """One actor's commit, waiting for (or done by) a transaction."""

    __slots__ = ("actor_id", "actor_type", "done", "error", "rows", "seq", "snapshot",
                 "version", "wake")

    def __init__(self, actor_type: str, actor_id: str, rows: list[tuple[Any, ...]],
                 snapshot: bytes, version: int, seq: int, wake: float | None) -> None:
        self.actor_type, self.actor_id, self.rows = actor_type, actor_id, rows
        self.snapshot, self.version, self.seq, self.wake = snapshot, version, seq, wake
        self.done: asyncio.Future[None] | None = None
        self.error: StoreError | None = None


class SqliteStore:
    """Actors in the SQLite file at ``path`` (made if missing)."""

    #: A loop callback writes each transaction, and a caller cancelled while its commit waits
    #: for it gets the outcome (see :class:`Store` and :meth:`commit`).
    commits_outlive_cancel = True

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
        self._queue: list[_Write] | None = None  # commits waiting for this turn's transaction
        self._company = Company()  # whether a transaction waits for more commits

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
        """Group commit across actors: the commits that arrive in one turn of the event loop
        are written in one SQLite transaction, each actor's under a savepoint of its own, so
        one refused commit does not refuse the others. A lone committer's commits stop
        waiting a turn for company after a few transactions without any (see Company). A
        caller cancelled while its commit waits for the transaction gets the outcome
        (stored, or StoreError), not CancelledError: the commit is written all the same."""
        write = _Write(actor_type, actor_id, [
            (actor_type, actor_id, e.seq, e.time, e.kind, e.caller.type, e.caller.id, e.type,
             orjson.dumps(e.data), e.error) for e in entries], snapshot, version, seq, wake)
        if self._queue is None:
            if not self._company.worth_waiting():
                self._company.ended(False)
                self._write([write])
                if write.error is not None:
                    raise write.error
                return
            self._queue = []
            asyncio.get_running_loop().call_soon(self._drain)
        write.done = asyncio.get_running_loop().create_future()
        self._queue.append(write)
        # The transaction is written by a loop callback at the end of this turn, not by this
        # task, so giving up cannot stop it: a caller that does is answered with the outcome.
        await outcome(write.done)

    def _drain(self) -> None:
        queue, self._queue = self._queue, None
        if not queue:  # drained by close() already
            return
        self._company.ended(len(queue) > 1)
        self._write(queue)
        for write in queue:
            assert write.done is not None
            if write.done.done():  # its caller gave up
                continue
            if write.error is None:
                write.done.set_result(None)
            else:
                write.done.set_exception(write.error)

    def _write(self, writes: list[_Write]) -> None:
        """Write ``writes`` in one transaction; each refused one gets its ``error``."""
        db = self._db
        with self._lock:
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    alone = len(writes) == 1
                    for write in writes:
                        self._write_one(db, write, alone=alone)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                if all(w.error is not None for w in writes):
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                else:
                    db.execute("COMMIT")
            except sqlite3.Error as e:
                for write in writes:
                    write.error = StoreError(f"could not commit {write.actor_type}/"
                                             f"{write.actor_id} to {self.path}: {e}")
                    write.error.__cause__ = e

    def _write_one(self, db: sqlite3.Connection, write: _Write, *, alone: bool) -> None:
        # Under a savepoint, so that a refused write leaves the others in the transaction,
        # and nothing of its own (the rows before the one refused). A write alone in its
        # transaction needs none (~8 us less): a refusal rolls the transaction back.
        if not alone:
            db.execute("SAVEPOINT actor")
        try:
            db.executemany(
                "INSERT INTO journal (type, id, seq, time, kind, caller_type, caller_id, "
                "event, data, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", write.rows)
            db.execute(
                "INSERT INTO actors (type, id, version, seq, snapshot, wake) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET "
                "version = excluded.version, seq = excluded.seq, "
                "snapshot = excluded.snapshot, wake = excluded.wake",
                (write.actor_type, write.actor_id, write.version, write.seq, write.snapshot,
                 write.wake))
        except sqlite3.IntegrityError as e:
            if alone:
                db.execute("ROLLBACK")
            else:
                db.execute("ROLLBACK TO actor")
                db.execute("RELEASE actor")
            last = db.execute("SELECT MAX(seq) FROM journal WHERE type = ? AND id = ?",
                              (write.actor_type, write.actor_id)).fetchone()[0]
            taken = [row[2] for row in write.rows if last is not None and row[2] <= last]
            write.error = StoreError(f"journal of {write.actor_type}/{write.actor_id} already "
                                     f"has step {taken[0] if taken else '?'}: {e}")
            write.error.__cause__ = e
            return
        if not alone:
            db.execute("RELEASE actor")

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
        if self._queue is not None:
            self._drain()
        with self._lock:
            self._db.close()
