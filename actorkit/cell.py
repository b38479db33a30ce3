"""One active actor in the actor system: its mailbox, its store, its connections and waiters.

Everything that changes an actor goes through :meth:`Cell.step`, under the actor's lock: the
operation runs at once and its steps join the actor's open *batch*. The batch is written to
the store (journal entries and the newest snapshot) in one transaction by a task that takes the
lock after the operations already waiting for it, so the events that arrive together are
committed together (group commit); only then do connections get their frames, waiters wake and
:meth:`Cell.settle` return to each caller. If the store refuses, the actor goes back to the
state the store has and every caller of the batch gets the error. Views, waits and frames only
ever show stored states.
"""

from __future__ import annotations

import asyncio
import logging
import random
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import deadline
from .actor import Actor, StepResult, ViewParts
from .company import Company
from .errors import ActorkitError, Quarantined, StepError
from .events import WATCHER, Caller
from .jobs import Op
from .journal import entries, spawn_entry
from .schemas import SYSTEM_EVENTS
from .statevalue import StateValue, matches_state
from .store.base import Entry, StepTaken, Store, Stored, StoreError, outcome
from .sync import Frames, View, ViewCache, Views

if TYPE_CHECKING:
    from .runtime import ActorSystem

__all__ = ["Cell", "Connection", "Pending"]

log = logging.getLogger("actorkit")

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

#: The turns of the loop a batch's leader waits for more company once it has some.
MAX_TURNS = 4

#: How many times an operation runs when another server stores steps of its actor first:
#: RACES times as it is (each on the actor as stored then), then, holding the actor
#: (PostgresStore.hold), up to CATCH_UP times; past that it fails with StepTaken.
RACES = 5
CATCH_UP = 4


class _Batch:
    """Steps run but not stored yet: committed together, answered together."""

    __slots__ = ("before", "error", "results", "waiters")

    def __init__(self, before: bytes) -> None:
        self.before = before  # the stored snapshot they follow
        self.results: list[StepResult] = []
        self.waiters: list[asyncio.Future[None]] = []  # one per operation but the leader's
        self.error: BaseException | None = None  # why it was not stored


@dataclass(slots=True)
class Pending(Generic[T]):
    """What :meth:`Cell.step` did: its result or failure, and the batch its steps joined,
    which it either leads (stores) or waits for (``waiter``)."""

    result: T | None
    failure: ActorkitError | None
    batch: _Batch | None = None
    waiter: asyncio.Future[None] | None = None

    def take_failure(self) -> ActorkitError:
        """The failure (there is one), which this no longer holds."""
        failure, self.failure = self.failure, None
        assert failure is not None
        return failure


class _Hold:
    """:meth:`Cell.hold`, written out: it is on every event's path, where a generator-based
    context manager costs several times as much."""

    __slots__ = ("cell",)

    def __init__(self, cell: Cell) -> None:
        self.cell = cell

    async def __aenter__(self) -> None:
        cell = self.cell
        cell.users += 1
        try:
            await cell.lock.acquire()
        except BaseException:
            cell.users -= 1
            raise

    async def __aexit__(self, *exc: object) -> None:
        cell = self.cell
        cell.lock.release()
        cell.users -= 1
        cell.touch()


class Connection:
    """One live subscriber of an actor (a WebSocket): it gets frames through ``deliver``,
    strictly in commit order. ``view`` is the view it has. ``end`` is told when the actor
    goes away for good (it was quarantined), with the reason."""

    __slots__ = ("caller", "cell", "deliver", "end", "view")

    def __init__(self, cell: Cell, caller: Caller, deliver: Callable[[str], None],
                 end: Callable[[Quarantined], None] | None = None) -> None:
        self.cell = cell
        self.caller = caller
        self.deliver = deliver
        self.end: Callable[[Quarantined], None] = end or _ignore
        self.view: View | None = None


@dataclass
class _Waiter:
    caller: Caller
    state: StateValue | None
    event: Mapping[str, Any] | None
    future: asyncio.Future[None]


class Cell:
    """One activated actor with its mailbox, store, connections and view cache."""

    def __init__(self, system: ActorSystem, actor: Actor, store: Store) -> None:
        self.system = system
        self.actor = actor
        self.store = store
        self.key = (actor.type, actor.id)
        self.lock = asyncio.Lock()
        self.connections: list[Connection] = []
        self.callers: Counter[str] = Counter()
        self.cache = ViewCache(limit=system.limits.view_cache, ttl=system.cache_ttl)
        self.waiters: list[_Waiter] = []
        self.used = system.clock()
        self.users = 0  # operations holding or waiting for the lock
        #: its last step ran past the inline budget: the next one goes to a worker at once
        self.slow = False
        chart = actor.chart
        # the chart's own, else the server's: given to whichever actor the cell holds now
        self._max_state = chart.max_state if chart.max_state is not None else \
            system.limits.max_state
        self._quarantine: str | None = None  # the reason, once its batch is stored
        # callers whose last connection closed, by id: DISCONNECT is due when the timer fires
        self.leaving: dict[str, tuple[asyncio.TimerHandle, Caller]] = {}
        self._batch: _Batch | None = None
        self._company = Company()  # whether a batch's leader waits for others to join
        self._published = actor.snapshot_json()
        self.seq_published = actor.seq  # the step of the state connections were last shown
        self._views = self._make_views()
        self._shown = actor.view_parts()  # what the published views are made of
        self._value = actor.value
        actor.record_steps = True

    # -- changing the actor --------------------------------------------------------------------

    def touch(self) -> None:
        """Note that the actor was just used (it is put away last)."""
        self.used = self.system.clock()
        self.system.touched(self)

    def join(self, conn: Connection) -> bool:
        """Add ``conn``; whether it is its caller's first connection here (the inspector's
        watcher only looks on: never counted, never a first)."""
        self.connections.append(conn)
        if conn.caller == WATCHER:
            return False
        self.callers[conn.caller.id] += 1
        return self.callers[conn.caller.id] == 1

    def leave(self, conn: Connection) -> bool:
        """Take ``conn`` out; whether it was its caller's last connection here."""
        self.connections.remove(conn)
        if conn.caller == WATCHER:
            return False
        self.callers[conn.caller.id] -= 1
        if self.callers[conn.caller.id]:
            return False
        del self.callers[conn.caller.id]
        return True

    def hold(self) -> _Hold:
        """``async with cell.hold():`` takes the actor's lock; while an operation holds or
        waits for it, the actor is not put away (counted from before the wait: a lock just
        released is not idle)."""
        return _Hold(self)

    def step(self, op: Op) -> Pending[Any] | None:
        """Run ``op`` on the actor now; the steps it took join the open batch (the first to
        join leads it). The caller must :meth:`hold` the actor, and then :meth:`settle` what
        this returns without holding it, so that the events behind it can join the batch.
        (Letting go of the actor marks it used: no touch here.)

        The step runs here, in the event loop, for at most ``limits.step_inline`` seconds;
        past that it is rolled back and ``None`` returned: run it with :meth:`step_long`
        (still holding the actor), in a worker process. So does every step of an actor whose
        last one ran long, until one runs short again."""
        if self.slow:
            return None
        actor = self.actor
        actor.max_state = self._max_state
        failure: ActorkitError | None = None
        result: Any = None
        try:
            ran, result = deadline.attempt(self.system.limits.step_inline,
                                           getattr(actor, op.name), *op.args)
        except ActorkitError as e:
            ran, failure = True, _unpinned(e)
        if not ran:
            self.slow = True
            return None
        return self._joined(op, actor.take_steps(), result, failure)

    async def step_long(self, op: Op) -> Pending[Any]:
        """:meth:`step`, for a step that runs long: run again from the start in a worker
        process, under the step deadline, while every other actor goes on. The steps
        committed before it here (due timers) stay."""
        actor = self.actor
        steps = actor.take_steps()
        done = await self.system.in_worker(actor.chart, "op", snapshot=actor.snapshot_json(),
                                           op=op)
        if done.snapshot:
            self.reset(done.snapshot)
        failure = done.failure
        if isinstance(failure, StepError) and failure.event_type is None:
            failure.event_type = op.event_type  # the worker could not say: it was stopped
        self.slow = failure is not None or done.seconds >= self.system.limits.step_inline
        return self._joined(op, steps + done.steps, done.result, failure)

    def _joined(self, op: Op, steps: list[StepResult], result: Any,
                failure: ActorkitError | None) -> Pending[Any]:
        """What :meth:`step` returns: ``steps`` joined to the open batch."""
        if op.name != "send" or len(steps) > 1 or failure is not None or \
                self.system.quarantines.counting:  # else: one client step, nothing to count
            self._count_failures(op, steps, failure)
        if not steps and self._batch is None:
            return Pending(result, failure)
        # With no steps of its own (an event no transition took, a can()), an answer read
        # from steps not stored yet waits for them, and fails with them.
        batch, waiter = self._batch, None
        if batch is None:
            batch = self._batch = _Batch(self._published)
        else:
            waiter = asyncio.get_running_loop().create_future()
            batch.waiters.append(waiter)
        batch.results += steps
        return Pending(result, failure, batch, waiter)

    def _count_failures(self, op: Op, steps: list[StepResult],
                        failure: ActorkitError | None) -> None:
        """Count the failures in a row of the actor's timer and lifecycle steps; enough of
        them put it in quarantine once its batch is stored."""
        quarantines, key = self.system.quarantines, self.key
        for r in steps:
            if r.caller.type == "system" and r.type not in SYSTEM_EVENTS and \
                    r.message is None:  # a timer step
                if r.error is None:
                    quarantines.succeeded(key)
                else:
                    self._quarantine = quarantines.failed(key, f"timer {r.type or ''}".strip(),
                                                          r.error) or self._quarantine
        if op.lifecycle:
            if isinstance(failure, StepError):
                what = failure.event_type or op.event_type or op.name
                self._quarantine = quarantines.failed(key, what, failure) or self._quarantine
            elif _lifecycle_ran(steps):
                quarantines.succeeded(key)

    async def settle(self, pending: Pending[T]) -> T:
        """Wait until the steps of ``pending`` are stored and published, then return its
        result, or raise its failure (an :class:`~actorkit.ActorkitError` from the operation,
        raised after the steps that did commit, such as timers before a failing event, are
        stored), or the store's :class:`StoreError`."""
        batch = pending.batch
        if pending.waiter is not None:
            await pending.waiter
        elif batch is not None:  # the leader
            try:
                # A turn of the loop lets the events that arrived with this one join its
                # batch; once some have, a few more turns (each reads what reached the
                # sockets meanwhile) let a busy actor store bursts, not fragments of them.
                # A lone caller's events skip even the first turn (see Company).
                if self._company.worth_waiting():
                    for _ in range(MAX_TURNS):
                        await asyncio.sleep(0)
                        if not batch.waiters:
                            break
                async with self.lock:  # after the operations already waiting for the actor
                    await self._flush(batch)
            except asyncio.CancelledError:
                if self._batch is batch:  # not flushed yet: the others still need it
                    self.system.spawn_task(self._flush_when_free(batch))
                raise
        if batch is not None and batch.error is not None:
            raise batch.error
        if pending.failure is not None:
            raise pending.take_failure()  # held by no frame it passes: see _unpinned
        return pending.result  # type: ignore[return-value]

    async def run(self, op: Op) -> Any:
        """:meth:`step` under the actor's lock, then :meth:`settle`. A step another server
        went ahead of (:class:`StepTaken`: the cell has reloaded the actor from the store)
        runs again on the actor as stored (see :data:`RACES`). The cell is in use all the
        while: it is not put away between tries, when a second cell of the actor would
        take its place."""
        self.users += 1
        try:
            return await self._run(op)
        finally:
            self.users -= 1

    async def _run(self, op: Op) -> Any:
        for attempt in range(RACES):
            try:
                return await self._run_once(op)
            except StepTaken:
                if getattr(self.store, "hold", None) is None and attempt:
                    raise  # a store of one server: the cell has reloaded it; once more only
            # servers racing for the actor would collide again at once: a random, growing
            # while (at most 16 ms), then what was stored meanwhile
            await asyncio.sleep(random.uniform(0, 0.001 * 2 ** attempt))
            await self.freshen()
        # Still losing (the other servers are faster at it): hold the actor, so that the
        # others' commits wait their turn, and run the operation on what is stored.
        # Once the hold is taken no other server commits the actor, so the copy read again
        # after a refusal (another batch of this server's, already on its way) is current.
        async with self.store.hold(*self.key):  # type: ignore[attr-defined]
            for attempt in range(CATCH_UP):
                await self.freshen()
                try:
                    return await self._run_once(op)
                except StepTaken:
                    if attempt == CATCH_UP - 1:
                        raise
        raise AssertionError("unreachable")

    async def _run_once(self, op: Op) -> Any:
        async with self.hold():
            pending = self.step(op) or await self.step_long(op)
        return await self.settle(pending)

    async def freshen(self) -> None:
        """Catch up with the store if another server stored steps this copy has not heard
        of yet (a store shared by several servers says which step it is at)."""
        stored_seq = getattr(self.store, "stored_seq", None)
        if stored_seq is not None:
            seq = await stored_seq(*self.key)
            if seq is not None and seq > self.actor.seq:
                await self.catch_up()

    async def _flush(self, batch: _Batch) -> None:
        """Store ``batch`` and publish it (the caller holds the lock), then wake its waiters;
        ``batch.error`` says why it was not stored."""
        self._batch = None  # what runs from now on starts the next batch
        self._company.ended(bool(batch.waiters))
        try:
            try:
                await self.commit(entries(batch.results), batch.before)
            except Exception as e:
                batch.error = e
            except BaseException as e:  # cancelled inside the store's commit
                batch.error = StoreError(f"storing {self.key[0]}/{self.key[1]} was "
                                         f"interrupted ({type(e).__name__})")
                raise
            else:
                self.published(batch.results)
                if self._quarantine is not None:
                    reason, self._quarantine = self._quarantine, None
                    await self.system.quarantine(self, reason)
        finally:
            for waiter in batch.waiters:
                if not waiter.done():  # a caller that gave up cancelled its own
                    waiter.set_result(None)

    async def _flush_when_free(self, batch: _Batch) -> None:
        async with self.hold():
            if self._batch is batch:
                await self._flush(batch)

    async def commit(self, journal: list[Entry], before: bytes) -> None:
        """Write ``journal`` and the actor's snapshot to the store, in one transaction; if it
        fails, put the actor back to ``before`` (what the store has; empty for a cell that is
        dropped on failure: a new actor, a migration) and raise StoreError."""
        actor = self.actor
        wake = actor.next_wake  # the actor stays as it is until this returns
        try:
            committing = self.store.commit(actor.type, actor.id, journal, actor.snapshot_json(),
                                           version=actor.chart.version, seq=actor.seq,
                                           wake=wake)
            if getattr(self.store, "commits_outlive_cancel", False):
                await committing
            else:  # in a task of its own, so that a caller giving up does not interrupt it
                await outcome(asyncio.ensure_future(committing))
        except StepTaken:
            # Another writer went ahead (another server on the store): what the store has is
            # the truth, and this copy would be refused the same way forever.
            if before:
                await self._reload(before)
            raise
        except StoreError:
            if before:
                self.reset(before)
            raise
        self.system.wake_at(self.key, wake)

    def reset(self, snapshot: bytes) -> None:
        """Make the actor the one in ``snapshot``."""
        self.actor = Actor.restore(self.actor.chart, snapshot, clock=self.system.clock)
        self.actor.record_steps = True

    async def _reload(self, before: bytes) -> None:
        """Make the actor what its store has (``before`` if that cannot be read), and bring
        every connection and waiter up to it."""
        try:
            stored = await self.store.load(*self.key)
            if stored is None:
                self.reset(before)
                return
            await self._adopt(stored)
        except ActorkitError as e:  # unreadable, or of another chart version: keep ours
            log.warning("%s/%s could not be reloaded from its store: %s", *self.key, e)
            self.reset(before)

    async def catch_up(self) -> None:
        """Bring the actor up to its store, if another server committed steps of it since
        this copy's last: its connections get their frames, its waiters see those steps."""
        async with self.hold():
            if self.system.get(*self.key) is not self.actor or self._batch is not None:
                # put away meanwhile; or steps wait to be stored, and their commit will find
                # out (StepTaken) and reload then
                return
            try:
                stored = await self.store.load(*self.key)
                if stored is not None and stored.seq > self.actor.seq:
                    await self._adopt(stored)
            except ActorkitError as e:
                log.warning("%s/%s could not catch up with its store: %s", *self.key, e)

    async def _adopt(self, stored: Stored) -> None:
        """Make the actor the one ``stored`` and publish the steps it is ahead by (as its
        journal tells them, for the waiters)."""
        missed: list[Entry] = []
        if self.waiters:  # only a wait for an event needs to know which steps they were
            missed = await self.store.journal(*self.key, after=self.seq_published,
                                              limit=min(stored.seq - self.seq_published, 100))
        self.reset(stored.snapshot)
        if self.actor.quarantine is not None:  # quarantined by another server
            self.system.put_away_quarantined(self)
            return
        self.published(steps_of(missed, self.actor.view_parts()))
        self.system.wake_at(self.key, self.actor.next_wake)

    async def create(self) -> None:
        """Store a freshly spawned actor: its creation entry and first snapshot."""
        await self.commit([spawn_entry(self.actor)], b"")

    # -- publishing ----------------------------------------------------------------------------

    def views(self) -> Views:
        """The views of the actor's stored state (made at each commit)."""
        return self._views

    def _make_views(self) -> Views:
        public, buckets, value = self.actor.view_parts()
        return Views(public, buckets, value, self.actor.chart.default_private)

    def view(self, caller: Caller) -> View:
        """``caller``'s view of the committed state, remembered for reconnects."""
        view = self.views().of(caller.id)
        self.cache.put(view, self.system.clock())
        return view

    def known(self, caller: Caller, checksum: str | None) -> View | None:
        """The view with ``checksum`` if it is known: ``caller``'s current one (even when it
        is too large for the cache), or one the cache still has."""
        if not checksum:
            return None
        current = self.views().of(caller.id)
        if current.checksum == checksum:
            return current
        return self.cache.get(checksum, self.system.clock())

    def published(self, results: list[StepResult]) -> None:
        """After committed steps: bring every connection up to date and wake the waiters
        whose condition now holds."""
        if self.actor.snapshot_json() is self._published:
            return
        self._published = self.actor.snapshot_json()
        self.seq_published = self.actor.seq
        previous, self._views = self._views, self._make_views()
        shown, self._shown = self._shown, self.actor.view_parts()
        self._value = self.actor.value
        frames = Frames()
        for conn in self.connections:
            self.update(conn, frames, remember=False)
        now = self.system.clock()
        for view in {id(c.view): c.view for c in self.connections if c.view is not None}.values():
            self.cache.put(view, now)
        previous.release()  # diffed from for the last time: what is kept of it is JSON
        if self.waiters:
            self._wake(results, shown)

    def update(self, conn: Connection, frames: Frames, *, remember: bool = True) -> None:
        """Send ``conn`` the frame that brings it to the current view, if it needs one."""
        view = self.view(conn.caller) if remember else self.views().of(conn.caller.id)
        frame = frames.frame(conn.view, view)
        if frame is not None:
            conn.view = view
            conn.deliver(frame)

    # -- waiting -------------------------------------------------------------------------------

    async def wait(self, caller: Caller, state: StateValue | None,
                   event: Mapping[str, Any] | None, timeout: float) -> bool:
        """Wait until the actor is in ``state`` (true at once if it is) or has committed
        ``event`` as far as ``caller`` may know (see :func:`_event_matches`); ``False`` if
        ``timeout`` seconds pass first."""
        if event is None and state is not None and matches_state(state, self._value):
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(caller, state, event, future)
        self.waiters.append(waiter)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            if waiter in self.waiters:
                self.waiters.remove(waiter)

    def _wake(self, results: list[StepResult], shown: ViewParts) -> None:
        """Wake the waiters that ``results`` (just published, after the state ``shown``)
        satisfy."""
        default = self.actor.chart.default_private
        for waiter in list(self.waiters):
            if waiter.future.done():
                self.waiters.remove(waiter)
                continue
            if waiter.event is not None:
                hit = _event_matches(waiter.caller, waiter.event, results, shown, default)
            else:
                hit = waiter.state is not None and matches_state(waiter.state, self._value)
            if hit:
                waiter.future.set_result(None)
                self.waiters.remove(waiter)

    @property
    def idle(self) -> bool:
        """Whether nothing holds the actor in memory: no connection, waiter or running event."""
        return not self.connections and not self.waiters and not self.users and \
            self._batch is None and not self.leaving


def _unpinned(error: E) -> E:
    """``error``, caught in the frame that made it a value, holding no frame's variables.

    A failed step's traceback runs through the frames of the step, whose variables hold the
    context as it was before the rollback (a todo list at its cap: a megabyte), and through
    the frame that caught it, which holds the error: a cycle, which outlives the request
    until Python's rare full collections. At thousands of refused events that was hundreds
    of megabytes. The traceback keeps its lines (for the log) but drops the catching frame
    and every frame's variables."""
    tb = error.__traceback__
    if tb is not None:
        error.__traceback__ = tb.tb_next
        traceback.clear_frames(tb.tb_next)
    return error


def _event_matches(caller: Caller, wanted: Mapping[str, Any], results: list[StepResult],
                   before: ViewParts, default: bytes) -> bool:
    """Whether ``caller`` may learn that one of the committed ``results`` (which followed
    the state ``before``) was the event ``wanted``, and it was.

    A wait must tell a caller nothing its own view does not: not another caller's payload
    (a client could park a thousand guesses at someone's secret maximum and see which one
    answers), and not even the moment of another caller's step that changed only what the
    waiter cannot see. So the fields of ``wanted`` match the caller's own events; another
    caller's event matches by type alone, and only if that step changed the caller's view
    (the view shows when, the type says which). A service reads every event in the journal
    anyway: its waits match anyone's events, fields included.
    """
    etype = wanted["type"]
    fields = len(wanted) > 1
    everyone = caller.type == "service"
    for result in results:
        after = result.view_parts or before
        if result.error is None and result.type == etype:
            if everyone or result.caller == caller:
                if not fields or _fields_match(wanted, result.data):
                    return True
            elif not fields and _view_changed(before, after, caller.id, default):
                return True
        before = after
    return False


def _fields_match(wanted: Mapping[str, Any], data: Mapping[str, Any] | None) -> bool:
    """Every field ``wanted`` names but ``type`` has that value in ``data``."""
    data = data or {}
    return all(k == "type" or data.get(k) == v for k, v in wanted.items())


def _view_changed(before: ViewParts, after: ViewParts, caller_id: str, default: bytes) -> bool:
    """Whether the view of the caller with id ``caller_id`` differs between two states,
    given as :meth:`~actorkit.Actor.view_parts`."""
    return before[0] != after[0] or before[2] != after[2] or \
        before[1].get(caller_id, default) != after[1].get(caller_id, default)


def _ignore(error: Quarantined) -> None:
    return None


def steps_of(journal: list[Entry], parts: ViewParts) -> list[StepResult]:
    """The steps ``journal`` tells of, as far as a waiter needs them, the last leaving the
    views made of ``parts``. Which of them changed a view is not known, only that the span
    did: so another caller's event can match a wait (by its type) only as the last step,
    which is never more than a single server would have told."""
    steps = [StepResult(e.seq, e.type, e.caller, e.time,
                        e.data["data"] if e.kind == "message" else e.data) for e in journal
             if e.kind in ("event", "message", "system", "timer") and e.error is None]
    if steps:
        steps[-1].view_parts = parts
    return steps


def _lifecycle_ran(steps: list[StepResult]) -> bool:
    """Whether a lifecycle operation's steps include the lifecycle step itself."""
    return any(r.caller.type == "system" and r.type in SYSTEM_EVENTS for r in steps)
