"""Actors in a PostgreSQL database (asyncpg), shared by any number of servers.

Each commit is one call of the ``actorkit_commit`` function the store installs: the actor's
journal rows and its new snapshot, written together or not at all. The journal's key (type,
id, seq) is what orders an actor's steps across every server on the database: a server whose
copy of an actor is out of date commits a step number another server already journaled, and
is refused (:class:`StepTaken`) before it acknowledges anything; it reloads the actor and runs
the event again on the current state.

Commits are written by one connection, one transaction at a time: the commits that arrive
while a transaction is on its way to the database are written together in the next one (group
commit), each in a subtransaction of its own, so that a refused one refuses only itself. A
lone commit is one round trip. Reads (loads, journal pages, wake-ups) take connections from a
small pool.

The tables are made, and migrated to this version of actorkit, when the store is first used:
under an advisory lock, so servers starting together on an empty database do it once.

asyncpg was chosen over psycopg 3 by measurement on this commit path (``bench/pg_drivers.py``:
a journal row and a snapshot upsert per transaction, against a local server): 225 against 335
us of wall time and 71 against 187 us of client CPU per commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson

from ..events import Caller
from .base import Entry, StepTaken, Stored, StoreError, entry_bytes, outcome
from .pgschema import (
    CALLER_LOCK,
    CHANNEL,
    CLAIM,
    COMMIT,
    CONNECTIONS,
    HOLD,
    NOW,
    UNHOLD,
    migrate,
)

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger("actorkit")

__all__ = ["PostgresStore", "is_postgres_url", "redact"]

#: Seconds between checks that the listening connection still stands (each also says this
#: server is alive, and looks for servers that are not).
_LISTEN_CHECK = 1.0


def is_postgres_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return text.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """``url`` without its password, to show in messages and logs."""
    return re.sub(r"^(\w+://[^:/@]*):[^@/]*@", r"\1:***@", url)


class _Write:
    """One actor's commit, waiting for a transaction."""

    __slots__ = ("actor_id", "actor_type", "args", "done")

    def __init__(self, actor_type: str, actor_id: str, args: tuple[Any, ...],
                 done: asyncio.Future[None]) -> None:
        self.actor_type, self.actor_id, self.args, self.done = actor_type, actor_id, args, done


class _Held:
    """A hold on one actor (see PostgresStore.hold): its connection, how many operations
    hold it, and a lock so that one thing at a time runs on the connection."""

    __slots__ = ("db", "lock", "released", "users")

    def __init__(self, db: asyncpg.Connection) -> None:
        self.db, self.users, self.lock = db, 1, asyncio.Lock()
        self.released = False  # let go: commits that waited for it go the ordinary way


class PostgresStore:
    """Actors in the PostgreSQL database at ``url`` (``postgresql://user:password@host/db``).

    Connects, and makes or migrates its tables, when first used. ``wait`` is how many seconds
    any one call to the database may take before it is refused with a :class:`StoreError`
    (the database down or unreachable); the store connects again on its own at the next call.
    ``pool`` is the most connections it opens for reads, besides the one that writes.

    Wake-ups (an actor's next timer) are fired once across the servers on the database: the
    server that commits a wake-up has it armed, and holds it for ``wake_lease`` seconds past
    its due time; a wake-up whose server has not fired it by then (it died, or is stopped)
    is claimed by another, which looks every ``wake_poll`` seconds (:meth:`claim_wakes`).
    A server not heard from for ``node_timeout`` seconds is given up: the callers connected
    only through it are told gone (see :meth:`follow`).
    """

    #: Commits are written by a task of the store's own; a caller cancelled while its commit
    #: is on its way still gets the outcome (see :class:`Store`).
    commits_outlive_cancel = True

    def __init__(self, url: str, *, wait: float = 5.0, pool: int = 4, wake_lease: float = 5.0,
                 wake_poll: float = 1.0, node_timeout: float = 5.0) -> None:
        if not is_postgres_url(url):
            raise StoreError(f"{redact(url)!r} is not a PostgreSQL URL: write it as "
                             f"postgresql://user:password@host:port/database")
        try:
            import asyncpg  # noqa: F401  (only a store on PostgreSQL needs it)
        except ImportError:
            raise StoreError('the PostgreSQL store needs asyncpg: pip install '
                             '"actorkit[postgres]"') from None
        self.url = url
        self.wait = wait
        self.wake_lease = wake_lease
        self.wake_poll = wake_poll
        self.node_timeout = node_timeout
        #: this store's name among the servers on the database
        self.node = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._known = False  # whether this server's row was made (by its first beat)
        self._pool_size = pool
        self._pool: asyncpg.Pool | None = None
        self._writer: asyncpg.Connection | None = None
        self._opening: asyncio.Lock | None = None
        self._queue: list[_Write] = []
        self._writing: asyncio.Task[None] | None = None
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None  # the connections' own
        self._following: asyncio.Task[None] | None = None
        #: the actors this server holds (see hold), and the connection holding each
        self._held: dict[tuple[str, str], _Held] = {}
        self._holding: asyncpg.Pool | None = None  # the connections that hold them

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.url)!r})"

    # -- connections -------------------------------------------------------------------------

    def _failed(self, doing: str, e: BaseException, *,
                sent: bool = False) -> StoreError:
        """The StoreError for ``e``, met while trying to ``doing``; ``sent``: a commit was
        on its way to the database when the connection failed, so it may have been stored."""
        if isinstance(e, StoreError):
            return e
        what = f"took longer than {self.wait:g} s" if isinstance(e, TimeoutError) else \
            f"{type(e).__name__}: {e}"
        outcome = ("the connection failed while it was on its way, so it may or may not be "
                   "stored (the actor is read again from the database at its next commit)"
                   if sent else "nothing was changed; try again once the database answers")
        error = StoreError(f"could not {doing} in PostgreSQL at {redact(self.url)} ({what}): "
                           f"{outcome}")
        error.__cause__ = e
        return error

    async def _ready(self) -> asyncpg.Pool:
        """The read pool, made (and the tables migrated) on first use."""
        if self._closed:
            raise StoreError(f"the store on {redact(self.url)} is closed")
        self._same_loop()
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                import asyncpg
                try:
                    pool = await asyncio.wait_for(asyncpg.create_pool(
                        self.url, min_size=0, max_size=self._pool_size,
                        command_timeout=self.wait), self.wait * 2)
                except Exception as e:
                    raise self._failed("connect", e) from e
                try:
                    async with pool.acquire() as db:
                        await migrate(db)
                except BaseException:
                    await pool.close()
                    raise
                self._holding = await asyncpg.create_pool(
                    self.url, min_size=0, max_size=self._pool_size, command_timeout=self.wait)
                self._pool = pool
        return self._pool

    def _same_loop(self) -> None:
        """Connections serve the event loop that made them: used from another one (a
        program that calls asyncio.run more than once), the store drops them and connects
        again."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._writer is not None:
                self._writer.terminate()
            for pool in (self._pool, self._holding):
                if pool is not None:
                    pool.terminate()
            if self._following is not None:
                self._following.cancel()
            self._writer, self._pool, self._opening, self._writing = None, None, None, None
            self._following = self._holding = None
            self._loop = loop

    async def _writer_connection(self) -> asyncpg.Connection:
        db = self._writer
        if db is None or db.is_closed():
            import asyncpg
            await self._ready()
            self._writer = db = await asyncio.wait_for(
                asyncpg.connect(self.url, command_timeout=self.wait), self.wait)
        return db

    async def _fetch(self, doing: str, sql: str, *args: Any) -> list[Any]:
        try:
            pool = await self._ready()
            async with pool.acquire(timeout=self.wait) as db:
                return list(await db.fetch(sql, *args, timeout=self.wait))
        except Exception as e:
            raise self._failed(doing, e) from e

    @asynccontextmanager
    async def _transaction(self, doing: str) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection in a transaction; whatever fails in it is the StoreError for
        ``doing``."""
        try:
            pool = await self._ready()
            async with pool.acquire(timeout=self.wait) as db, db.transaction():
                yield db
        except Exception as e:
            raise self._failed(doing, e) from e

    # -- the Store interface ----------------------------------------------------------------

    async def load(self, actor_type: str, actor_id: str) -> Stored | None:
        rows = await self._fetch(f"load {actor_type}/{actor_id}",
                                 "SELECT version, seq, snapshot FROM actorkit_actors "
                                 "WHERE type = $1 AND id = $2", actor_type, actor_id)
        if not rows:
            return None
        version, seq, snapshot = rows[0]
        return Stored(actor_type, actor_id, int(version), int(seq), bytes(snapshot))

    async def stored_seq(self, actor_type: str, actor_id: str) -> int | None:
        """The step the actor's stored snapshot is at (``None``: not stored), without
        reading the snapshot: for a server to learn whether its copy is behind."""
        rows = await self._fetch(f"read the step of {actor_type}/{actor_id}",
                                 "SELECT seq FROM actorkit_actors WHERE type = $1 AND id = $2",
                                 actor_type, actor_id)
        return int(rows[0][0]) if rows else None

    async def commit(self, actor_type: str, actor_id: str, entries: Sequence[Entry],
                     snapshot: bytes, *, version: int, seq: int,
                     wake: float | None) -> None:
        """Written in the next transaction of the store's writer, with the commits that
        arrive while the one before it is on its way (see the module's docstring)."""
        if self._closed:
            raise StoreError(f"the store on {redact(self.url)} is closed")
        self._same_loop()
        held = self._held.get((actor_type, actor_id))
        args = (actor_type, actor_id, version, seq, snapshot, wake,
                None if wake is None else wake + self.wake_lease,
                [e.seq for e in entries], [e.time for e in entries],
                [e.kind for e in entries], [e.caller.type for e in entries],
                [e.caller.id for e in entries], [e.type for e in entries],
                [orjson.dumps(e.data) for e in entries], [e.error for e in entries],
                held is not None)
        done = asyncio.get_running_loop().create_future()
        write = _Write(actor_type, actor_id, args, done)
        if held is not None:  # on the connection that holds the actor, in a turn of its own
            async with held.lock:
                if not held.released:
                    try:
                        self._settle(write, await held.db.fetchval(COMMIT, *args,
                                                                   timeout=self.wait))
                    except Exception as e:
                        self._refuse([write], e, sent=True)
                    await done
                    return
            # let go while this commit waited for the connection: the ordinary way
            write.args = (*args[:-1], False)
        self._queue.append(write)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_all())
        await outcome(done)

    async def _write_all(self) -> None:
        while self._queue:
            writes, self._queue = self._queue, []
            try:
                db = await self._writer_connection()
            except Exception as e:
                self._refuse(writes, e, sent=False)
                continue
            try:
                await self._write(db, writes)
            except Exception as e:
                # the connection is in an unknown state: a new one for the next transaction
                db.terminate()
                self._writer = None
                self._refuse(writes, e, sent=True)

    def _refuse(self, writes: list[_Write], e: Exception, *, sent: bool) -> None:
        for w in writes:
            if not w.done.done():
                w.done.set_exception(self._failed(f"commit {w.actor_type}/{w.actor_id}", e,
                                                  sent=sent))

    async def _write(self, db: asyncpg.Connection, writes: list[_Write]) -> None:
        if len(writes) == 1:  # a transaction of its own, in one round trip
            results = [await db.fetchval(COMMIT, *writes[0].args, timeout=self.wait)]
        else:
            async with db.transaction():
                results = [await db.fetchval(COMMIT, *w.args, timeout=self.wait)
                           for w in writes]
        for w, last in zip(writes, results, strict=True):
            self._settle(w, last)

    @staticmethod
    def _settle(w: _Write, last: int | None) -> None:
        """Tell ``w``'s caller what ``actorkit_commit`` answered."""
        if w.done.done():  # its caller gave up twice
            return
        if last is None:
            w.done.set_result(None)
        elif last == -2:
            w.done.set_exception(StepTaken(
                f"another server holds {w.actor_type}/{w.actor_id} while it catches up: "
                f"this copy takes its turn"))
        else:
            taken = next((seq for seq in w.args[7] if seq <= last), last)
            w.done.set_exception(StepTaken(
                f"journal of {w.actor_type}/{w.actor_id} already has step {taken}: "
                f"another server, or another copy of the actor, went ahead"))

    @asynccontextmanager
    async def hold(self, actor_type: str, actor_id: str) -> AsyncIterator[None]:
        """Hold the actor for this server alone: while held, other servers' commits of it
        are refused (StepTaken), and this server's are written. A server that lost a race
        for an actor holds it to run the operation again, so that racing servers take
        turns rather than lose to each other over and over. Waits up to ``wait`` seconds
        for the hold (StoreError past that)."""
        key = (actor_type, actor_id)
        held = self._held.get(key)
        if held is not None:  # held already, for another operation of this server
            held.users += 1
        else:
            try:
                await self._ready()
                assert self._holding is not None
                db: asyncpg.Connection = await self._holding.acquire(timeout=self.wait)
            except Exception as e:
                raise self._failed(f"hold {actor_type}/{actor_id}", e) from e
            try:
                await db.execute(HOLD, actor_type, actor_id, timeout=self.wait)
            except Exception as e:
                await self._drop(db)  # its hold, if it came, goes with it
                raise self._failed(f"hold {actor_type}/{actor_id}", e) from e
            held = self._held[key] = _Held(db)
        try:
            yield
        finally:
            await self._let_go(key, held)

    async def _let_go(self, key: tuple[str, str], held: _Held) -> None:
        """One operation fewer holds the actor; the last lets go of it."""
        held.users -= 1
        if held.users:
            return
        if self._held.get(key) is held:
            del self._held[key]
        async with held.lock:  # after a commit on its way on that connection
            held.released = True
            try:
                await held.db.execute(UNHOLD, *key, timeout=self.wait)
            except Exception:
                await self._drop(held.db)  # and the hold with it
                return
        if self._holding is not None:
            await self._holding.release(held.db)

    async def _drop(self, db: asyncpg.Connection) -> None:
        """Close a holding connection that failed, and give it back to its pool. A
        connection the database ended was given back already (asyncpg does that when it
        sees it closed): nothing more to do then."""
        with contextlib.suppress(Exception):
            db.terminate()
        if self._holding is not None:
            with contextlib.suppress(Exception):
                await self._holding.release(db)

    async def journal(self, actor_type: str, actor_id: str, *, after: int = -1,
                      limit: int = 100, max_bytes: int | None = None) -> list[Entry]:
        # read row by row from a cursor, so that a page holds no more than max_bytes
        sql = ("SELECT seq, time, kind, caller_type, caller_id, event, data, error "
               "FROM actorkit_journal WHERE type = $1 AND id = $2 AND seq > $3 "
               "ORDER BY seq LIMIT $4")
        rows: list[Any] = []
        total = 0
        async with self._transaction(f"read the journal of {actor_type}/{actor_id}") as db:
            async for row in db.cursor(sql, actor_type, actor_id, after, limit, prefetch=16,
                                       timeout=self.wait):
                if max_bytes is not None:
                    total += _row_bytes(row)
                    if rows and total > max_bytes:
                        break
                rows.append(row)
        return [Entry(int(r[0]), float(r[1]), r[2], Caller(r[3], r[4]), r[5],
                      orjson.loads(r[6]) if r[6] is not None else None, r[7]) for r in rows]

    async def wakes(self) -> list[tuple[float, str, str]]:
        rows = await self._fetch("read the wake-ups",
                                 "SELECT wake, type, id FROM actorkit_actors "
                                 "WHERE wake IS NOT NULL ORDER BY wake, type, id")
        return [(float(r[0]), r[1], r[2]) for r in rows]

    async def claim_wakes(self, now: float, *, limit: int = 100) -> list[tuple[float, str, str]]:
        """Claim for this server the wake-ups due by ``now + wake_poll`` that no server holds
        (none armed them, or the one that did let ``wake_lease`` pass): ``(due, actor_type,
        actor_id)``, soonest first, at most ``limit``. Each is claimed by one server only, for
        ``wake_lease`` seconds past its due time."""
        rows = await self._fetch("claim the wake-ups due", CLAIM, now + self.wake_poll, now,
                                 now + self.wake_poll + self.wake_lease, limit)
        return sorted((float(r[0]), r[1], r[2]) for r in rows)

    async def actor_ids(self, actor_type: str, *, after: str = "",
                        limit: int = 100) -> list[str]:
        rows = await self._fetch(f"list the actors of {actor_type}",
                                 "SELECT id FROM actorkit_actors WHERE type = $1 AND id > $2 "
                                 "ORDER BY id LIMIT $3", actor_type, after, limit)
        return [r[0] for r in rows]

    # -- following the commits of other servers -----------------------------------------------

    async def follow(self, committed: Callable[[str, str, int], None],
                     missed: Callable[[], None],
                     left: Callable[[str, str, Caller], None] | None = None) -> None:
        """Tell ``committed(actor_type, actor_id, seq)`` of every commit to the database, by
        any server, from now on (in commit order, this store's own included). If the
        connection that listens breaks, the store connects again on its own and then calls
        ``missed()``: what was committed meanwhile was not told, so read again what you hold
        (and say again who is connected here: :meth:`present`). ``left(actor_type,
        actor_id, caller)`` is told of callers who were connected only through a server
        that stopped following (no sign of it for ``node_timeout`` seconds): send their
        DISCONNECT. Raises StoreError if it cannot listen at first."""
        self._same_loop()
        if self._following is not None:
            raise StoreError("this store already tells of commits to one follower")
        listener = await self._listen(committed)
        await self._beat()
        self._following = asyncio.create_task(
            self._keep_listening(listener, committed, missed, left))

    async def _beat(self) -> bool:
        """Say that this server is alive; True if it had been given up for dead (its
        presence rows are gone: say again who is connected here)."""
        rows = await self._fetch(
            "say this server is alive",
            f"INSERT INTO actorkit_nodes VALUES ($1, {NOW}) ON CONFLICT (node) DO UPDATE "
            f"SET beat = excluded.beat RETURNING (xmax = 0) AS new", self.node)
        new = bool(rows[0][0])
        was_known, self._known = self._known, True
        return new and was_known

    async def _reap(self) -> list[tuple[str, str, Caller]]:
        """Give up the servers not seen for ``node_timeout`` seconds: their presence goes,
        and the callers left connected nowhere are returned."""
        async with self._transaction("give up the servers not heard from") as db:
            dead = [r[0] for r in await db.fetch(
                f"SELECT node FROM actorkit_nodes WHERE beat < {NOW} - $1 "
                f"FOR UPDATE SKIP LOCKED", self.node_timeout, timeout=self.wait)]
            if not dead:
                return []
            gone = await db.fetch(
                "DELETE FROM actorkit_presence WHERE node = ANY($1::text[]) "
                "RETURNING type, id, caller_id, caller_type", dead, timeout=self.wait)
            await db.execute("DELETE FROM actorkit_nodes WHERE node = ANY($1::text[])",
                             dead, timeout=self.wait)
            left = []
            for actor_type, actor_id, caller_id, caller_type in gone:
                await db.execute(CALLER_LOCK, actor_type, actor_id, caller_id)
                if not await db.fetchval(CONNECTIONS, actor_type, actor_id, caller_id):
                    left.append((actor_type, actor_id, Caller(caller_type, caller_id)))
        log.warning("gave up %d server(s) not heard from for %g s: %s", len(dead),
                    self.node_timeout, ", ".join(dead))
        return left

    async def _leave(self) -> None:
        """Stop being one of the servers: who is connected through it is forgotten, as a
        server that stops forgets it (the next connection of each caller is a CONNECT)."""
        if self._pool is None:
            return
        try:
            async with self._pool.acquire(timeout=self.wait) as db, db.transaction():
                await db.execute("DELETE FROM actorkit_presence WHERE node = $1", self.node,
                                 timeout=self.wait)
                await db.execute("DELETE FROM actorkit_nodes WHERE node = $1", self.node,
                                 timeout=self.wait)
        except Exception as e:  # the others give it up in node_timeout seconds instead
            log.warning("%s", self._failed("leave the servers on the database", e))

    async def present(self, actor_type: str, actor_id: str, caller: Caller) -> bool:
        """Note that ``caller`` is connected to the actor through this server; True if it
        was connected through none (send CONNECT)."""
        return await self._presence(actor_type, actor_id, caller, joining=True)

    async def absent(self, actor_type: str, actor_id: str, caller: Caller) -> bool:
        """Note that ``caller`` is no longer connected to the actor through this server;
        True if it is now connected through none (send DISCONNECT)."""
        return await self._presence(actor_type, actor_id, caller, joining=False)

    async def _presence(self, actor_type: str, actor_id: str, caller: Caller, *,
                        joining: bool) -> bool:
        change = ("INSERT INTO actorkit_presence VALUES ($1, $2, $3, $4, $5) "
                  "ON CONFLICT DO NOTHING" if joining else
                  "DELETE FROM actorkit_presence WHERE type = $1 AND id = $2 "
                  "AND caller_id = $3 AND node = $4 AND caller_type = $5")
        async with self._transaction(f"note who is connected to {actor_type}/{actor_id}") as db:
            await db.execute(CALLER_LOCK, actor_type, actor_id, caller.id, timeout=self.wait)
            await db.execute(change, actor_type, actor_id, caller.id, self.node, caller.type,
                             timeout=self.wait)
            count = await db.fetchval(CONNECTIONS, actor_type, actor_id, caller.id,
                                      timeout=self.wait)
        return bool(count == 1 if joining else count == 0)

    async def _listen(self, committed: Callable[[str, str, int], None]) -> asyncpg.Connection:
        import asyncpg

        def notified(_db: object, _pid: int, _channel: str, payload: str) -> None:
            try:
                actor_type, actor_id, seq = orjson.loads(payload)
            except (ValueError, TypeError):
                log.warning("ignored a notification that is not actorkit's: %.100r", payload)
                return
            committed(actor_type, actor_id, seq)

        await self._ready()
        try:
            db = await asyncio.wait_for(asyncpg.connect(self.url, command_timeout=self.wait),
                                        self.wait)
            await db.add_listener(CHANNEL, notified)
        except Exception as e:
            raise self._failed("listen for commits", e) from e
        return db

    async def _keep_listening(self, db: asyncpg.Connection,
                              committed: Callable[[str, str, int], None],
                              missed: Callable[[], None],
                              left: Callable[[str, str, Caller], None] | None) -> None:
        """Every :data:`_LISTEN_CHECK` seconds: say this server is alive, give up those
        that are not (``left`` told of their callers), and check the listening connection;
        when it has broken, connect again (retrying with backoff) and call ``missed``."""
        pause = _LISTEN_CHECK
        try:
            while not self._closed:
                await asyncio.sleep(pause)
                try:
                    if await self._beat():
                        log.warning("this server was given up for dead (paused, or cut off "
                                    "from the database): it reads again what it holds")
                        missed()
                    for actor_type, actor_id, caller in await self._reap():
                        if left is not None:
                            left(actor_type, actor_id, caller)
                except StoreError as e:
                    log.warning("%s", e)
                if not db.is_closed():
                    try:
                        await db.execute("SELECT 1", timeout=self.wait)
                        pause = _LISTEN_CHECK
                        continue
                    except Exception:
                        db.terminate()
                try:
                    db = await self._listen(committed)
                except StoreError as e:
                    log.warning("%s", e)
                    pause = min(pause * 2, 5.0)
                    continue
                log.info("listening for commits again on %s", redact(self.url))
                pause = _LISTEN_CHECK
                missed()
        finally:
            db.terminate()

    async def close(self) -> None:
        if self._closed:
            return
        self._same_loop()
        self._closed = True
        if self._following is not None:
            self._following.cancel()
            await asyncio.gather(self._following, return_exceptions=True)
            self._following = None
            await self._leave()
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)
        if self._writer is not None:
            await self._writer.close(timeout=self.wait)
            self._writer = None
        for pool in (self._pool, self._holding):
            if pool is not None:
                await pool.close()
        self._pool = self._holding = None


def _row_bytes(row: Any) -> int:
    """:func:`entry_bytes` of a journal row (seq, time, kind, caller type and id, event,
    data, error)."""
    return entry_bytes(row[6], row[7], row[5], row[4])
