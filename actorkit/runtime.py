"""The actor system: actors by ``(type, id)``, activated on first touch (restored from their
store, or spawned), one event at a time each, woken by their timers, and put away when idle.

Everything runs on one asyncio event loop. Each actor has a mailbox (a lock: events run one at
a time, in arrival order). Every committed step is written to the actor's store with its new
snapshot before anyone hears of it. One timer for the whole system wakes each actor at its
earliest deadline, whether or not it is in memory.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

import orjson

from . import deadline
from .actor import Actor, StepResult
from .cell import CATCH_UP, Cell, Connection
from .chart import Chart
from .errors import ActorkitError, BoundError, HookError, Quarantined, SnapshotError, StepError
from .events import WATCHER, Caller
from .jobs import Done, Job, Op, bring_back
from .limits import Limits
from .quarantine import NotQuarantined, Quarantines
from .statevalue import StateValue
from .store.base import Entry, StepTaken, Store, Stored, StoreError, page
from .store.default import open_store
from .store.memory import MemoryStore
from .sync import Frames, View
from .workers import Workers

log = logging.getLogger("actorkit")

__all__ = ["ActorSystem", "Connection", "NotQuarantined", "UnknownActorType", "WaitTimeout"]

Key = tuple[str, str]


def _damaged(stored: Stored, e: Exception) -> SnapshotError:
    """A stored snapshot that is not a snapshot at all (JSON errors are ValueErrors too): the
    row was damaged."""
    return SnapshotError(
        f"the stored snapshot of {stored.actor_type}/{stored.actor_id} is damaged "
        f"({type(e).__name__}: {str(e)[:200]}): restore the actor store from a backup (the "
        f"actor's journal, GET .../events, shows its history); other actors are not affected")


class UnknownActorType(ActorkitError):
    """No chart is served under this actor type."""


class WaitTimeout(ActorkitError):
    """A wait for a state or an event ran out of time."""


class ActorSystem:
    """The actors of a set of charts, by ``(actor type, actor id)``.

    Actors of ``persisted`` charts live in ``store``; the others in a store in this
    process's memory. ``store`` defaults to the project's store, where ``actorkit serve``
    keeps them (:func:`~actorkit.store.default.open_store`: ``ACTORKIT_STORE``,
    ``ACTORKIT_DB``, ``DATABASE_URL`` if it names PostgreSQL, else ``.actorkit/actors.db``
    in ``ACTORKIT_PROJECT`` or the working directory; nothing when no chart is persisted);
    pass a :class:`~actorkit.store.MemoryStore` for actors that need not outlive the
    process.
    ``clock`` is every actor's time source (epoch seconds).
    Views sent to connections and returned by :meth:`snapshot` are kept ``cache_ttl`` seconds
    (at most ``limits.view_cache`` bytes of them per actor) so reconnecting clients get a
    diff. An actor with no
    connection that nothing has touched for ``idle_after`` seconds leaves memory (``None``:
    never); it comes back from its store, with ``RESUME``, when next needed. ``limits``
    bounds what the system holds and how long its steps run (default: :class:`Limits`'s
    defaults).
    """

    def __init__(self, charts: Mapping[str, Chart], *, store: Store | None = None,
                 clock: Callable[[], float] = time.time, cache_ttl: float = 300.0,
                 idle_after: float | None = None,
                 limits: Limits | None = None) -> None:
        self.charts = dict(charts)
        self.limits = limits if limits is not None else Limits()
        #: where steps that run past ``limits.step_inline`` run again, under their deadline
        self.workers = Workers(self.limits.step_workers, self.limits.step_memory)
        self.quarantines = Quarantines(self.limits.quarantine_after)
        if store is None:  # a file only when some actor would be kept in it
            persisted = any(chart.persisted for chart in self.charts.values())
            store = open_store(wait=self.limits.store_wait) if persisted else MemoryStore()
        self.store: Store = store
        self.memory: Store = MemoryStore(journal=False)
        self.clock = clock
        self.cache_ttl = cache_ttl
        self.idle_after = idle_after
        self._cells: OrderedDict[Key, Cell] = OrderedDict()  # least recently used first
        self._loading: dict[Key, asyncio.Future[Cell | None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wakes: dict[Key, float] = {}
        self._heap: list[tuple[float, Key]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._claimer: asyncio.TimerHandle | None = None  # the next claim of wake-ups
        # senders whose outbox this server is delivering now, and those waiting to try again
        # after trouble of the moment: (tries so far, when to try next)
        self._delivering: set[Key] = set()
        self._retry: dict[Key, tuple[int, float]] = {}
        # a store shared by several servers (PostgresStore) hands out the wake-ups to fire
        self._claim: Callable[[float], Awaitable[list[tuple[float, str, str]]]] | None = \
            getattr(self.store, "claim_wakes", None)
        self._closing = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Arm the wake-ups of stored actors (their timers survive restarts), follow what
        other servers commit to the store (if it can tell), and start putting idle actors
        away."""
        if self._claim is not None:
            await self._claim_wakes()  # shared with other servers: only those none holds
        else:
            self._arm_wakes(await self.store.wakes())
        follow = getattr(self.store, "follow", None)
        if follow is not None:
            await follow(self._committed, self._missed, self._left_elsewhere)
        self._sweep_later()

    def _arm_wakes(self, wakes: list[tuple[float, str, str]]) -> None:
        for due, actor_type, actor_id in wakes:
            chart = self.charts.get(actor_type)
            if chart is not None and chart.persisted:
                self.wake_at((actor_type, actor_id), due)

    async def _claim_wakes(self) -> None:
        """Arm the wake-ups the store lets this server claim (due soon, and held by no other
        server), then look again in ``wake_poll`` seconds."""
        assert self._claim is not None
        try:
            self._arm_wakes(await self._claim(self.clock()))
        except StoreError as e:
            log.warning("could not claim the wake-ups due: %s", e)
        if not self._closing:
            self._claimer = asyncio.get_running_loop().call_later(
                getattr(self.store, "wake_poll", 1.0), lambda: self.spawn_task(self._claim_wakes()))

    def _committed(self, actor_type: str, actor_id: str, seq: int) -> None:
        """The store committed step ``seq`` of an actor (perhaps on another server): a copy
        held here that is behind catches up, its connections and waiters with it."""
        key = (actor_type, actor_id)
        cell = self._cells.get(key)
        if cell is None or cell.actor.seq >= seq:  # not held here, or its own commit
            return
        if cell.idle:  # nobody here to show it to: put away, read again when next needed
            del self._cells[key]
        else:
            self.spawn_task(cell.catch_up())

    def _missed(self) -> None:
        """Commits may have gone untold (and this server's callers been given up by the
        others): every actor held here checks its store, and says again who is connected
        here."""
        for cell in list(self._cells.values()):
            self.spawn_task(self._rejoin(cell))

    async def _rejoin(self, cell: Cell) -> None:
        await cell.catch_up()
        present = getattr(cell.store, "present", None)
        if present is None:
            return
        callers = {conn.caller.id: conn.caller for conn in cell.connections}
        for caller in callers.values():
            try:
                if await present(*cell.key, caller):  # the others had sent DISCONNECT
                    await cell.run(Op("connect", (caller,)))
            except ActorkitError as e:
                log.warning("CONNECT of %s to %s/%s again failed: %s", caller.id, *cell.key, e)

    def _left_elsewhere(self, actor_type: str, actor_id: str, caller: Caller) -> None:
        """``caller`` was connected only through a server now given up: DISCONNECT."""
        async def disconnect() -> None:
            try:
                cell = await self.cell(actor_type, actor_id, None)
                if cell is not None:
                    await cell.run(Op("disconnect", (caller,)))
            except ActorkitError as e:
                log.warning("DISCONNECT of %s from %s/%s (its server was given up) failed: "
                            "%s", caller.id, actor_type, actor_id, e)

        if actor_type in self.charts:
            self.spawn_task(disconnect())

    async def close(self) -> None:
        """Stop the timers and the worker processes (steps running there fail, rolled back),
        wait for running steps, release the store."""
        self._closing = True
        for handle in (self._timer, self._sweeper, self._claimer):
            if handle is not None:
                handle.cancel()
        self._timer = self._sweeper = self._claimer = None
        leaving = [(cell, *due) for cell in self._cells.values() for due in cell.leaving.values()]
        for _, handle, _ in leaving:
            handle.cancel()
        if leaving:  # callers gone for good: DISCONNECT them now, while workers still run
            await asyncio.gather(*(self._left(cell, caller) for cell, _, caller in leaving),
                                 return_exceptions=True)
        await self.workers.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.store.close()

    def chart(self, actor_type: str) -> Chart:
        """The chart served under ``actor_type``."""
        chart = self.charts.get(actor_type)
        if chart is None:
            raise UnknownActorType(f"Unknown actor type: {actor_type}")
        return chart

    def store_for(self, chart: Chart) -> Store:
        """Where actors of ``chart`` live."""
        return self.store if chart.persisted else self.memory

    def get(self, actor_type: str, actor_id: str) -> Actor | None:
        """The actor, if it is in memory."""
        cell = self._cells.get((actor_type, actor_id))
        return cell.actor if cell is not None else None

    # -- activation ----------------------------------------------------------------------------

    async def cell(self, actor_type: str, actor_id: str, caller: Caller | None,
                   input: Any = None) -> Cell | None:
        """The actor's cell: in memory, else restored from its store (migrated if its chart
        version is older, then sent RESUME), else spawned for ``caller`` with ``input``
        (``None`` if there is no caller to spawn it for)."""
        key = (actor_type, actor_id)
        cell = self._cells.get(key)
        if cell is not None:
            return cell
        known = self.quarantines.known(key)
        if known is not None:
            raise Quarantined.of(actor_type, actor_id, known)
        chart = self.chart(actor_type)
        pending = self._loading.get(key)
        if pending is not None:
            await asyncio.shield(pending)
            cell = self._cells.get(key)
            if cell is not None or caller is None:
                return cell
        future: asyncio.Future[Cell | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            cell = await self._activate(chart, actor_id, caller, input)
            future.set_result(cell)
            return cell
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._loading[key]

    async def _activate(self, chart: Chart, actor_id: str, caller: Caller | None,
                        input: Any) -> Cell | None:
        store = self.store_for(chart)
        for attempt in range(CATCH_UP + 1):
            stored = await store.load(chart.actor_type, actor_id)
            try:
                if stored is None:
                    if caller is None:
                        return None
                    actor = await self._spawn(chart, actor_id, caller, input)
                    cell = Cell(self, actor, store)
                    await cell.create()
                else:
                    cell = await self._restore(chart, stored, store)
            except StepTaken:  # another server made it, or brought it back, first
                if attempt == CATCH_UP:
                    raise
                continue
            self._cells[cell.key] = cell
            return cell
        raise AssertionError("unreachable")

    async def _spawn(self, chart: Chart, actor_id: str, caller: Caller, input: Any) -> Actor:
        ran, actor = deadline.attempt(
            self.limits.step_inline, partial(Actor.spawn, chart, actor_id, caller=caller,
                                             input=input, clock=self.clock,
                                             max_state=self.limits.max_state))
        if ran:
            assert actor is not None
            return actor
        done = await self.in_worker(chart, "spawn", actor_id=actor_id, caller=caller,
                                    input=input)
        if done.failure is not None:
            raise done.failure
        return Actor.restore(chart, done.snapshot, clock=self.clock)

    async def _restore(self, chart: Chart, stored: Stored, store: Store) -> Cell:
        """Bring a stored actor back: migrated if its chart version is older (MIGRATE), its
        overdue timers run, then RESUME, all committed as one transaction. If any of it fails
        nothing is stored and the actor is not activated: the next touch tries again from
        the stored snapshot, which is never lost (until it has failed
        ``limits.quarantine_after`` times in a row: then the actor is quarantined). A
        snapshot that is not one (a damaged row) is a SnapshotError for this actor alone."""
        snapshot = stored.snapshot
        key = (stored.actor_type, stored.actor_id)
        try:
            snap = orjson.loads(snapshot)
            quarantine = snap.get("quarantine")
        except (ValueError, AttributeError) as e:
            raise _damaged(stored, e) from e
        if quarantine is not None:
            self.quarantines.note(key, quarantine)
            raise Quarantined.of(*key, quarantine)
        try:
            actor, journal = await self._bring_back(chart, snap, snapshot)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
            raise _damaged(stored, e) from e
        except StepError as e:
            reason = self.quarantines.failed(key, e.event_type or "restore", e)
            if reason is not None:
                await self.quarantines.put(store, key, snapshot, reason, self.clock())
            raise
        self.quarantines.succeeded(key)
        cell = Cell(self, actor, store)
        if journal:
            await cell.commit(journal, b"")  # StoreError: not activated, the store as it was
        else:
            self.wake_at(cell.key, actor.next_wake)
        return cell

    async def _bring_back(self, chart: Chart, snap: dict[str, Any],
                          snapshot: bytes) -> tuple[Actor, list[Entry]]:
        ran, back = deadline.attempt(self.limits.step_inline, bring_back, chart, snap,
                                     self.clock, self.limits.max_state)
        if ran:
            assert back is not None
            return back
        done = await self.in_worker(chart, "restore", snapshot=snapshot)
        if done.failure is not None:
            raise done.failure
        return Actor.restore(chart, done.snapshot, clock=self.clock), done.journal

    async def in_worker(self, chart: Chart, kind: Any, **job: Any) -> Done:
        """Run a job of ``chart`` in a worker process, at this moment, under the chart's step
        deadline. A step the worker could not finish fails in the result."""
        try:
            return await self.workers.run(Job(
                kind, chart.file, chart.fingerprint, self.clock(), self.deadline_of(chart),
                max_state=self.limits.max_state, **job))
        except StepError as e:  # stuck and stopped, or the worker is gone
            return Done(failure=e)

    def deadline_of(self, chart: Chart) -> float:
        """Seconds each step of ``chart`` may run: the chart's own ``deadline:``, else the
        server's."""
        return chart.deadline if chart.deadline is not None else self.limits.step_deadline

    # -- quarantine ----------------------------------------------------------------------------

    async def quarantine(self, cell: Cell, reason: str) -> None:
        """Put the actor of ``cell`` (whose lock the caller holds, with nothing unstored) in
        quarantine: stored, then out of memory, its connections told and closed."""
        try:
            marked = await self.quarantines.put(cell.store, cell.key,
                                                cell.actor.snapshot_json(), reason, self.clock())
        except StoreError as e:
            log.warning("%s/%s could not be put in quarantine: %s", *cell.key, e)
            return
        cell.reset(marked)  # operations already waiting for the cell find it quarantined
        self.put_away_quarantined(cell)

    def put_away_quarantined(self, cell: Cell) -> None:
        """Take ``cell``, whose actor is quarantined in the store, out of memory, its
        connections told and closed."""
        self.quarantines.note(cell.key, cell.actor.quarantine or {})
        if self._cells.get(cell.key) is cell:
            del self._cells[cell.key]
        self._wakes.pop(cell.key, None)
        error = Quarantined.of(*cell.key, cell.actor.quarantine or {})
        connections, cell.connections = cell.connections, []
        cell.callers.clear()
        for conn in connections:
            conn.end(error)

    async def quarantine_of(self, actor_type: str, actor_id: str) -> dict[str, Any] | None:
        """Why the actor is quarantined (``{"since", "reason"}``), or ``None``."""
        return await self.quarantines.of(self.store_for(self.chart(actor_type)),
                                         (actor_type, actor_id))

    async def release(self, actor_type: str, actor_id: str) -> int:
        """Lift the quarantine of an actor: it is brought back (its overdue timers run, then
        RESUME) on its next touch, or at once if a timer is due. Returns the step of the
        release; raises :class:`NotQuarantined` if the actor is not quarantined."""
        key, now = (actor_type, actor_id), self.clock()
        # Woken at once: what fell due while it was quarantined runs, and whether the fixed
        # chart brings it back shows now rather than on some later request.
        seq = await self.quarantines.lift(self.store_for(self.chart(actor_type)), key, now)
        if self._timer is not None or self._sweeper is not None:  # started: serving
            self.wake_at(key, now)
        return seq

    # -- what callers do -----------------------------------------------------------------------

    async def _cell(self, actor_type: str, actor_id: str, caller: Caller,
                    input: Any = None) -> Cell:
        cell = await self.cell(actor_type, actor_id, caller, input)
        assert cell is not None  # with a caller, cell() spawns
        return cell

    async def _current_cell(self, actor_type: str, actor_id: str, caller: Caller,
                            input: Any = None) -> Cell:
        """:meth:`_cell`, caught up with its store first if other servers share the store
        and one of them stored steps this copy has not heard of yet: what a caller is shown
        is never older than what another server already acknowledged."""
        cell = await self._cell(actor_type, actor_id, caller, input)
        await cell.freshen()
        if self._cells.get(cell.key) is not cell:
            # put away while it caught up (its store told this server of a newer step and
            # nobody here watched it): what it shows may be behind; read it from the store
            cell = await self._cell(actor_type, actor_id, caller, input)
            await cell.freshen()
        return cell

    async def send(self, actor_type: str, actor_id: str, caller: Caller,
                   event: Mapping[str, Any], *, input: Any = None) -> tuple[StepResult, str]:
        """Run ``event`` from ``caller``; returns the step and ``caller``'s new checksum once
        the step is stored and every connection has its frame."""
        cell = await self._cell(actor_type, actor_id, caller, input)
        result = await cell.run(Op("send", (event, caller)))
        return result, cell.view(caller).checksum

    async def can(self, actor_type: str, actor_id: str, caller: Caller,
                  event: Mapping[str, Any], *, input: Any = None) -> bool:
        """Whether ``event``, sent now by ``caller``, would be handled: :meth:`Actor.can` on
        the actor's stored state, changing nothing. An actor that does not exist yet is
        asked as the one a send would spawn (with ``input``), which is not kept."""
        cell = await self.cell(actor_type, actor_id, None)
        op = Op("can", (event, caller))
        if cell is None:
            actor = await self._spawn(self.chart(actor_type), actor_id, caller, input)
            cell = Cell(self, actor, self.memory)  # never stored: can() takes no step
        return await cell.run(op)  # type: ignore[no-any-return]

    async def snapshot(self, actor_type: str, actor_id: str, caller: Caller, *,
                       input: Any = None, wait_for_state: StateValue | None = None,
                       wait_for_event: Mapping[str, Any] | None = None,
                       timeout: float = 5.0) -> View:
        """``caller``'s view. With ``wait_for_state`` (returns at once if the actor is in it)
        or ``wait_for_event`` (a later event of that type with those fields, matched only as
        far as ``caller`` may know of it: see :meth:`Cell.wait`), waits up to ``timeout``
        seconds and raises :class:`WaitTimeout` if it does not come."""
        cell = await self._current_cell(actor_type, actor_id, caller, input)
        cell.touch()
        if (wait_for_state is not None or wait_for_event is not None) and not await cell.wait(
                caller, wait_for_state, wait_for_event, timeout):
            raise WaitTimeout("Timeout waiting for event or state")
        return cell.view(caller)

    async def connect(self, actor_type: str, actor_id: str, caller: Caller,
                      deliver: Callable[[str], None], *, checksum: str | None = None,
                      input: Any = None,
                      end: Callable[[Quarantined], None] | None = None) -> Connection:
        """Subscribe ``deliver`` to the actor's frames for ``caller``. The first frame brings
        the client from the view with ``checksum`` (if still known; else from nothing) to the
        current one; nothing is sent if ``checksum`` is current. The caller's first connection
        sends CONNECT (if the chart handles it). ``end`` is told if the actor goes away for
        good while connected (it is quarantined)."""
        cell = await self._current_cell(actor_type, actor_id, caller, input)
        async with cell.hold():
            conn = Connection(cell, caller, deliver, end)
            conn.view = cell.known(caller, checksum)
            first = cell.join(conn)
            if first and caller.id in cell.leaving:  # back within the grace: never gone
                cell.leaving.pop(caller.id)[0].cancel()
                first = False
            present = getattr(cell.store, "present", None)
            if first and present is not None:  # first here: perhaps not first anywhere
                try:
                    first = await present(actor_type, actor_id, caller)
                except BaseException:
                    cell.leave(conn)
                    raise
            connect = Op("connect", (caller,))
            pending = (cell.step(connect) or await cell.step_long(connect)) if first else None
        if pending is not None:
            try:
                await cell.settle(pending)
            except StepError as e:  # a failing hook must not refuse the connection
                log.warning("CONNECT of %s:%s to %s/%s failed: %s", caller.type, caller.id,
                            *cell.key, e)
            except BaseException:  # the store refused CONNECT: no connection
                async with cell.hold():
                    cell.leave(conn)
                raise
        cell.update(conn, Frames())
        return conn

    async def disconnect(self, conn: Connection) -> None:
        """Unsubscribe. When the caller's last connection closes, DISCONNECT is sent once
        ``limits.reconnect_grace`` seconds pass without the caller connecting again: a client
        that reconnects sooner (a page reload, a network blip) sends neither DISCONNECT nor
        CONNECT, so reconnecting in a loop does not grow the journal."""
        cell = conn.cell
        async with cell.hold():
            if conn not in cell.connections or not cell.leave(conn):
                return
            caller = conn.caller
            handle = asyncio.get_running_loop().call_later(
                self.limits.reconnect_grace, lambda: self.spawn_task(self._left(cell, caller)))
            cell.leaving[caller.id] = (handle, caller)

    async def _left(self, cell: Cell, caller: Caller) -> None:
        """DISCONNECT ``caller``, unless it came back meanwhile."""
        async with cell.hold():
            if cell.leaving.pop(caller.id, None) is None:
                return
            absent = getattr(cell.store, "absent", None)
            try:
                if absent is not None and not await absent(*cell.key, caller):
                    return  # still connected through another server
            except StoreError as e:
                log.warning("DISCONNECT of %s from %s/%s is left to the other servers: %s",
                            caller.id, *cell.key, e)
                return
            disconnect = Op("disconnect", (caller,))
            pending = cell.step(disconnect) or await cell.step_long(disconnect)
        try:
            await cell.settle(pending)
        except StepError as e:  # a failing hook: the caller is gone all the same
            log.warning("DISCONNECT of %s:%s from %s/%s failed: %s", caller.type,
                        caller.id, *cell.key, e)
        except StoreError as e:  # nobody left to tell; the actor is as stored
            log.warning("DISCONNECT of %s from %s/%s was not stored: %s",
                        caller.id, *cell.key, e)

    def connected(self, actor_type: str, actor_id: str) -> list[Caller]:
        """The callers connected to the actor now (by WebSocket), in the order they came,
        without the inspector's watcher."""
        cell = self._cells.get((actor_type, actor_id))
        if cell is None:
            return []
        seen = dict.fromkeys(c.caller for c in cell.connections if c.caller != WATCHER)
        return list(seen)

    async def journal(self, actor_type: str, actor_id: str, *, after: int = -1,
                      limit: int = 100) -> list[Entry]:
        """The actor's journal entries after step ``after``: at most ``limit``, and at most
        ``limits.journal_page`` bytes of them, but at least one (charts with
        ``persisted: false`` keep none)."""
        store = self.store_for(self.chart(actor_type))
        page_bytes = self.limits.journal_page
        if "max_bytes" in inspect.signature(store.journal).parameters:
            return await store.journal(actor_type, actor_id, after=after, limit=limit,
                                       max_bytes=page_bytes)
        # A store of the user's own, written before pages had a size: the page is cut here.
        found = await store.journal(actor_type, actor_id, after=after, limit=limit)
        return page(found, Entry.page_bytes, page_bytes)

    async def tick(self, actor_type: str, actor_id: str) -> list[StepResult]:
        """Run the actor's timer steps that are due now (restoring it if it is stored)."""
        cell = await self.cell(actor_type, actor_id, None)
        if cell is None:
            return []
        return await cell.run(Op("advance", (self.clock(),)))  # type: ignore[no-any-return]

    # -- wake-ups: one timer for every actor ---------------------------------------------------

    def wake_at(self, key: Key, due: float | None) -> None:
        """Have the actor ``key`` woken at ``due`` (``None``: not at all)."""
        if due is None:
            self._wakes.pop(key, None)
            return
        if self._wakes.get(key) == due:
            return
        self._wakes[key] = due
        heapq.heappush(self._heap, (due, key))
        self._arm()

    def _arm(self) -> None:
        heap = self._heap
        while heap and self._wakes.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # superseded
        if not heap:
            return
        due = heap[0][0]
        if self._timer is not None:
            if self._timer_due is not None and self._timer_due <= due:
                return
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, due - self.clock()), self._on_wake)
        self._timer_due = due

    def _on_wake(self) -> None:
        self._timer = self._timer_due = None
        now = self.clock()
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, key = heapq.heappop(heap)
            if self._wakes.get(key) != due:
                continue
            del self._wakes[key]
            self.spawn_task(self._tick_after_wake(key, due))
        self._arm()

    async def _tick_after_wake(self, key: Key, due: float) -> None:
        try:
            await self.tick(*key)
        except ActorkitError as e:  # e.g. a stored actor that cannot be brought back
            log.warning("the timers of %s/%s did not run: %s", *key, e)
        cell = self._cells.get(key)
        if cell is not None and cell.actor.outbox_size and key not in self._delivering:
            await self.deliver(*key)
        if key not in self._wakes and key not in self._delivering:
            cell = self._cells.get(key)
            if cell is None:
                return
            self.wake_at(key, cell.actor.next_wake)  # woken a hair early: again

    # -- messages between actors ---------------------------------------------------------------

    async def deliver(self, actor_type: str, actor_id: str) -> None:
        """Deliver the messages in the actor's outbox (see ``ctx.tell()``), oldest first, one
        at a time: each is a step of its receiver, then (a step of the sender's own) taken
        out of the outbox, ``DELIVERED`` or, if the receiver refused it or its step failed,
        ``MESSAGE_FAILED``. Trouble of the moment (the store) is tried again later, waiting
        longer each time. The sender's lock is never held while its receiver runs."""
        key = (actor_type, actor_id)
        if key in self._delivering:
            return  # the messages are on their way already
        self._delivering.add(key)
        try:
            await self._deliver_all(key)
        finally:
            self._delivering.discard(key)

    async def _deliver_all(self, key: Key) -> None:
        while not self._closing:
            tries, after = self._retry.get(key, (0, 0.0))
            if after > self.clock():  # woken early (a commit of the sender's): not yet
                self.wake_at(key, after)
                return
            try:
                cell = await self.cell(*key, None)
                message = cell.actor.outbox_head if cell is not None else None
                if cell is None or message is None:
                    self._retry.pop(key, None)
                    return
                if message["seq"] > cell.seq_published:
                    return  # told by a step not stored yet: its commit wakes the actor again
                error = await self._hand_over(key, message)
                if error is not None and not cell.actor.chart.handles("MESSAGE_FAILED"):
                    log.warning("%s/%s told %s/%s %s, which was refused, and its chart does not "
                                "handle MESSAGE_FAILED: %s", *key, message["to"]["type"],
                                message["to"]["id"], message["event"]["type"], error)
                await cell.run(Op("delivered", (message["seq"], message["index"], error)))
            except Quarantined:
                return  # delivered once it is released
            except Exception as e:  # the store, or a race lost too often: later
                wait = min(0.05 * 2 ** tries, 30.0)
                log.warning("a message of %s/%s could not be delivered now (%s: %s); trying "
                            "again in %.2fs", *key, type(e).__name__, e, wait)
                self._retry[key] = (tries + 1, self.clock() + wait)
                self.wake_at(key, self.clock() + wait)
                return
            self._retry.pop(key, None)

    async def _hand_over(self, sender: Key, message: dict[str, Any]) -> str | None:
        """Run ``message`` of the actor ``sender`` as a step of its receiver (spawned first
        if it does not exist and its chart lets ``sender``'s type spawn it). Returns ``None``
        once the receiver has it stored (or had it already), else why it refused the
        message; raises :class:`StoreError` for trouble of the moment."""
        to_type, to_id = message["to"]["type"], message["to"]["id"]
        caller = Caller.actor(*sender)
        chart = self.charts.get(to_type)
        if chart is None:
            return (f"no chart is served under actor type {to_type!r}: tell an actor of a "
                    f"type this server serves")
        try:
            cell = await self.cell(to_type, to_id, None)
            if cell is None:
                if sender[0] not in chart.spawned_by:
                    return (f"{to_type}/{to_id} does not exist and chart {to_type!r} does not "
                            f"let {sender[0]} actors spawn it: add `spawned_by: [{sender[0]}]` "
                            f"to it, or have the actor made first")
                cell = await self._cell(to_type, to_id, caller, message.get("input"))
            await cell.run(Op("receive", (message, caller)))
        except StoreError:
            raise
        except Quarantined as e:
            return e.brief
        except StepError as e:
            if isinstance(e, BoundError):  # the message's fault; it names no value
                return str(e)
            # The receiver's code failed: its details (a hook's file and line, what it
            # raised) are for the server's log, not for another actor's context.
            ref = secrets.token_hex(4)
            log.error("%s/%s failed to take %s from %s/%s (reference %s): %s: %s", to_type,
                      to_id, message["event"]["type"], *sender, ref, type(e).__name__, e)
            hook = f" in hook {e.hook}" if isinstance(e, HookError) and e.hook else ""
            return (f"the step of {to_type}/{to_id} on {message['event']['type']} failed: "
                    f"{type(e).__name__}{hook} (reference {ref}); the server's log has the "
                    f"details under that reference")
        except ActorkitError as e:  # refused: what it says is about the message itself
            return str(e)
        return None

    def spawn_task(self, coroutine: Any) -> None:
        """Run ``coroutine`` as a task that :meth:`close` waits for."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- passivation ---------------------------------------------------------------------------

    def _sweep_later(self) -> None:
        if self.idle_after is None:
            return
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(max(self.idle_after / 2, 0.01), self._sweep)

    def _sweep(self) -> None:
        """Put away the actors nothing has touched for ``idle_after`` seconds."""
        assert self.idle_after is not None
        horizon = self.clock() - self.idle_after
        idle = []
        for key, cell in self._cells.items():
            if cell.used >= horizon:
                break  # and so is every one after it: only the idle ones are walked
            if cell.idle:
                idle.append(key)
        for key in idle:
            del self._cells[key]
        self._sweep_later()

    def touched(self, cell: Cell) -> None:
        """Move ``cell`` to the back of the line to be put away."""
        if self._cells.get(cell.key) is cell:
            self._cells.move_to_end(cell.key)

    @property
    def active(self) -> int:
        """How many actors are in memory."""
        return len(self._cells)
