"""The embedded default: actors in one SQLite file (stdlib ``sqlite3``, write-ahead log).

``durability="process"`` (the default) survives the process being killed at any moment: a
committed transaction is in the WAL before the call returns (``synchronous=NORMAL``).
``durability="power"`` also survives the machine losing power (``synchronous=FULL``: an fsync
per commit).

The commits that arrive in one turn of the event loop, from any number of actors, share one
transaction (each actor's under a savepoint, so a refused one refuses only itself). With
``durability="power"`` that shares the fsync: 16 actors committing at once run at 0.45-0.49x
of the memory store instead of 0.27-0.29x (``bench/store.py``).

The event loop never waits inside SQLite: a commit that finds the file's write lock taken by
another process (a ``sqlite3`` shell in a transaction, a backup) waits for it off the loop,
retried every few milliseconds, and is refused after ``wait`` seconds. One store at a time
holds a file (a lock on ``<file>.lock``, released when its process ends, however it ends),
and a file deleted or replaced under a running store is noticed at the next commit, which is
refused: nothing is acknowledged that a restart would not find.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import orjson

from ..company import Company
from ..events import Caller
from .base import Entry, StepTaken, Stored, StoreError, entry_bytes, outcome, page

log = logging.getLogger("actorkit")

__all__ = ["SqliteStore"]

Durability = Literal["process", "power"]

#: Seconds between tries at a write lock another process holds: SQLite's own busy handler's
#: steps, without ever sleeping on the event loop.
_RETRY = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025)

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
    """Actors in the SQLite file at ``path`` (made if missing).

    ``lock`` (the default) holds the file for this store alone: another store with ``lock``
    on the same file, in any process, is refused (:class:`StoreError`), so two servers never
    share one; ``lock=False`` opens it beside one (to read it, as ``actorkit replay`` does).
    ``wait`` is how many seconds a commit may wait for another process's write lock.
    """

    #: A loop callback writes each transaction, and a caller cancelled while its commit waits
    #: for it gets the outcome (see :class:`Store` and :meth:`commit`).
    commits_outlive_cancel = True

    def __init__(self, path: str | Path, *, durability: Durability = "process",
                 lock: bool = True, wait: float = 5.0) -> None:
        if durability not in ("process", "power"):
            raise ValueError(f"durability is 'process' or 'power', not {durability!r}")
        self.path = Path(path)
        self.durability = durability
        self.wait = wait
        db: sqlite3.Connection | None = None
        self._owner: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if lock:
                self._owner = _own(self.path)
            # One connection, used from the event loop's thread; the lock guards the rare
            # call from another thread (a CLI, a test). Opening may wait for another
            # process's lock (the loop is not serving yet); nothing after it does.
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                 timeout=wait)
            db.execute("PRAGMA journal_mode=WAL")
            sync = "NORMAL" if durability == "process" else "FULL"
            db.execute(f"PRAGMA synchronous={sync}")
            db.executescript(_SCHEMA)
            db.execute("PRAGMA busy_timeout=0")
            self._files = _Files(self.path)
        except (sqlite3.Error, OSError) as e:
            if db is not None:
                db.close()
            self._disown()
            raise StoreError(f"cannot open the actor store {self.path}: {e}") from e
        except StoreError:
            self._disown()
            raise
        self._db = db
        self._lock = threading.Lock()
        self._queue: list[_Write] | None = None  # commits waiting for this turn's transaction
        self._company = Company()  # whether a transaction waits for more commits
        self._locked_since: float | None = None  # since when the queue waits for the file
        self._tries = 0  # since then
        self._retry: asyncio.TimerHandle | None = None
        self._broken: str | None = None  # why every commit is refused from now on
        # A store dropped without close() lets go of its file when it is collected, as its
        # SQLite connection does.
        self._release = weakref.finalize(self, _release, self._files, self._owner)

    def _disown(self) -> None:
        if self._owner is not None:
            os.close(self._owner)  # and the lock with it
            self._owner = None

    async def _read(self, sql: str, params: tuple[Any, ...],
                    take: Callable[[Iterator[Any]], list[Any]] | None = None) -> list[Any]:
        """The rows of a query (those ``take`` takes from them, with it), waiting (off the
        loop) while another process locks the file."""
        if self._broken is not None:
            raise StoreError(self._broken)
        started, attempt = time.monotonic(), 0
        while True:
            try:
                with self._lock:
                    cursor = self._db.execute(sql, params)
                    return cursor.fetchall() if take is None else take(cursor)
            except sqlite3.Error as e:
                if not _busy(e) or time.monotonic() - started > self.wait:
                    raise StoreError(f"cannot read the actor store {self.path}: {e}") from e
            await asyncio.sleep(_RETRY[min(attempt, len(_RETRY) - 1)])
            attempt += 1

    async def load(self, actor_type: str, actor_id: str) -> Stored | None:
        rows = await self._read(
            "SELECT version, seq, snapshot FROM actors WHERE type = ? AND id = ?",
            (actor_type, actor_id))
        if not rows:
            return None
        row = rows[0]
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
        if self._broken is not None:
            raise StoreError(self._broken)
        write = _Write(actor_type, actor_id, [
            (actor_type, actor_id, e.seq, e.time, e.kind, e.caller.type, e.caller.id, e.type,
             orjson.dumps(e.data), e.error) for e in entries], snapshot, version, seq, wake)
        if self._queue is None:
            if not self._company.worth_waiting():
                self._company.ended(False)
                if self._write([write]):
                    if write.error is not None:
                        raise write.error
                    return
                self._queue = []  # the file is locked: wait for it with the others
                self._try_later()
            else:
                self._queue = []
                asyncio.get_running_loop().call_soon(self._drain)
        write.done = asyncio.get_running_loop().create_future()
        self._queue.append(write)
        # The transaction is written by a loop callback at the end of this turn, not by this
        # task, so giving up cannot stop it: a caller that does is answered with the outcome.
        await outcome(write.done)

    def _try_later(self) -> None:
        """Drain the queue again soon: another process holds the file's write lock."""
        if self._locked_since is None:
            self._locked_since, self._tries = time.monotonic(), 0
        self._tries += 1
        self._retry = asyncio.get_running_loop().call_later(
            _RETRY[min(self._tries, len(_RETRY)) - 1], self._drain)

    def _drain(self, *, last: bool = False) -> None:
        queue, self._queue = self._queue, None
        self._retry = None
        if not queue:  # drained by close() already
            return
        self._company.ended(len(queue) > 1)
        if not self._write(queue):
            since = self._locked_since or time.monotonic()
            if not last and time.monotonic() - since < self.wait:
                self._queue = queue  # commits that arrive meanwhile join it
                self._try_later()
                return
            for write in queue:
                write.error = StoreError(
                    f"the actor store {self.path} stayed locked by another process for "
                    f"{time.monotonic() - since:.1f} s (a sqlite3 shell or a backup holding "
                    f"a write transaction?); {write.actor_type}/{write.actor_id} was not "
                    f"committed")
        self._locked_since = None
        for write in queue:
            assert write.done is not None
            if write.done.done():  # its caller gave up
                continue
            if write.error is None:
                write.done.set_result(None)
            else:
                write.done.set_exception(write.error)

    def _write(self, writes: list[_Write]) -> bool:
        """Write ``writes`` in one transaction; each refused one gets its ``error``. False
        (and nothing written) if another process holds the file's write lock."""
        db = self._db
        with self._lock:
            try:
                try:
                    db.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as e:
                    if _busy(e):
                        return False
                    raise
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
        gone = self._files.gone()
        if gone is not None:
            self._break(gone)
            for write in writes:
                write.error = StoreError(self._broken or gone)
        return True

    def _break(self, gone: str) -> None:
        """Refuse every commit from now on: the file written is no longer the store's."""
        if self._broken is None:
            self._broken = (
                f"the actor store {gone} was deleted or replaced while the server was "
                f"running: what it commits now would be lost at the next restart, so nothing "
                f"more is acknowledged. Stop the server, put back the store you mean to keep "
                f"(a backup, or nothing to start afresh), and start it again")
            log.error("%s", self._broken)

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
            write.error = StepTaken(f"journal of {write.actor_type}/{write.actor_id} already "
                                    f"has step {taken[0] if taken else '?'}: {e}")
            write.error.__cause__ = e
            return
        if not alone:
            db.execute("RELEASE actor")

    async def journal(self, actor_type: str, actor_id: str, *, after: int = -1,
                      limit: int = 100, max_bytes: int | None = None) -> list[Entry]:
        rows = await self._read(
            "SELECT seq, time, kind, caller_type, caller_id, event, data, error "
            "FROM journal WHERE type = ? AND id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (actor_type, actor_id, after, limit),
            lambda cursor: page(cursor, _row_bytes, max_bytes))
        return [Entry(int(r[0]), float(r[1]), r[2], Caller(r[3], r[4]), r[5],
                      orjson.loads(r[6]) if r[6] is not None else None, r[7]) for r in rows]

    async def wakes(self) -> list[tuple[float, str, str]]:
        rows = await self._read("SELECT wake, type, id FROM actors WHERE wake IS NOT NULL "
                                "ORDER BY wake, type, id", ())
        return [(float(r[0]), r[1], r[2]) for r in rows]

    async def actor_ids(self, actor_type: str, *, after: str = "",
                        limit: int = 100) -> list[str]:
        rows = await self._read("SELECT id FROM actors WHERE type = ? AND id > ? "
                                "ORDER BY id LIMIT ?", (actor_type, after, limit))
        return [r[0] for r in rows]

    async def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        if self._queue is not None:
            self._drain(last=True)
        with self._lock:
            self._db.close()
        # Only now: closing another descriptor of the file earlier would drop SQLite's own
        # (POSIX) locks on it.
        self._release()


def _busy(e: sqlite3.Error) -> bool:
    """Whether ``e`` says another connection holds a lock SQLite needs."""
    code = getattr(e, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _release(files: _Files, owner: int | None) -> None:
    files.close()
    if owner is not None:
        os.close(owner)  # and the lock with it


def _own(path: Path) -> int:
    """Take ``<path>.lock`` for this process (an OS lock, gone with the process however it
    ends); StoreError if another store holds it."""
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip()
        os.close(fd)
        raise StoreError(
            f"the actor store {path} is in use by another actorkit server"
            f"{f' (process {holder})' if holder else ''}: stop it first, or give this one a "
            f"store of its own (ACTORKIT_DB)") from None
    except OSError:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


class _Files:
    """Descriptors of the store's file and its write-ahead log, to notice at each commit that
    either was deleted or replaced (its last link gone): a commit to it would be lost."""

    __slots__ = ("fds",)

    def __init__(self, path: Path) -> None:
        self.fds: dict[str, int] = {}
        for name in (str(path), f"{path}-wal"):
            with contextlib.suppress(FileNotFoundError):  # no log until the first write
                self.fds[name] = os.open(name, os.O_RDONLY)

    def gone(self) -> str | None:
        """The file that lost its last link, if one did."""
        for name, fd in self.fds.items():
            if os.fstat(fd).st_nlink == 0:
                return name
        return None

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


def _row_bytes(row: Any) -> int:
    """:func:`entry_bytes` of a journal row (seq, time, kind, caller type and id, event,
    data, error)."""
    return entry_bytes(row[6], row[7], row[5], row[4])
