"""One active actor in the actor system: its mailbox, its store, its connections and waiters.

Everything that changes an actor goes through :meth:`Cell.run`, under the actor's lock: the
operation runs, every step it committed is written to the store with the new snapshot in one
transaction, and only then do connections get their frames and waiters wake. If the store
refuses, the actor goes back to the state the store has and the caller gets the error.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .actor import Actor, StepResult
from .errors import ActorkitError
from .events import Caller
from .journal import entries, spawn_entry
from .statevalue import StateValue, matches_state
from .store.base import Entry, Store, StoreError
from .sync import Frames, View, ViewCache, Views

if TYPE_CHECKING:
    from .runtime import ActorSystem

__all__ = ["Cell", "Connection"]

T = TypeVar("T")


class Connection:
    """One live subscriber of an actor (a WebSocket): it gets frames through ``deliver``,
    strictly in commit order. ``view`` is the view it has."""

    __slots__ = ("caller", "cell", "deliver", "view")

    def __init__(self, cell: Cell, caller: Caller, deliver: Callable[[str], None]) -> None:
        self.cell = cell
        self.caller = caller
        self.deliver = deliver
        self.view: View | None = None


@dataclass
class _Waiter:
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
        self.cache = ViewCache(size=system.cache_size, ttl=system.cache_ttl)
        self.waiters: list[_Waiter] = []
        self.used = system.clock()
        self.users = 0  # operations holding or waiting for the lock
        self._views: Views | None = None
        self._published = actor.snapshot_json()
        actor.record_steps = True

    # -- changing the actor --------------------------------------------------------------------

    def touch(self) -> None:
        """Note that the actor was just used (it is put away last)."""
        self.used = self.system.clock()
        self.system.touched(self)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Take the actor's lock; while an operation holds or waits for it, the actor is
        not put away (counted from before the wait: a lock just released is not idle)."""
        self.users += 1
        try:
            async with self.lock:
                yield
        finally:
            self.users -= 1
            self.touch()

    async def run(self, operation: Callable[[Actor], T]) -> T:
        """Run ``operation`` on the actor, commit what it did to the store, then publish.
        The caller must :meth:`hold` the actor. An :class:`~actorkit.ActorkitError` from the
        operation is raised after the steps that did commit (timers before a failing event)
        are stored and published."""
        self.touch()
        before = self._published
        failure: ActorkitError | None = None
        result: Any = None
        try:
            result = operation(self.actor)
        except ActorkitError as e:
            failure = e
        steps = self.actor.take_steps()
        if steps:
            await self.commit(entries(steps), before)
            self.published(steps)
        if failure is not None:
            raise failure
        return result  # type: ignore[no-any-return]

    async def commit(self, journal: list[Entry], before: bytes) -> None:
        """Write ``journal`` and the actor's snapshot to the store, in one transaction; if it
        fails, put the actor back to ``before`` (what the store has; empty for a cell that is
        dropped on failure: a new actor, a migration) and raise StoreError."""
        actor = self.actor
        try:
            await self.store.commit(actor.type, actor.id, journal, actor.snapshot_json(),
                                    version=actor.chart.version, seq=actor.seq,
                                    wake=actor.next_deadline)
        except StoreError:
            if before:
                self.actor = Actor.restore(actor.chart, before, clock=self.system.clock)
                self.actor.record_steps = True
            raise
        self.system.wake_at(self.key, actor.next_deadline)

    async def create(self) -> None:
        """Store a freshly spawned actor: its creation entry and first snapshot."""
        await self.commit([spawn_entry(self.actor)], b"")

    # -- publishing ----------------------------------------------------------------------------

    def views(self) -> Views:
        """The views of the actor's committed state (made once per commit)."""
        if self._views is None:
            public, buckets, value = self.actor.view_parts()
            self._views = Views(public, buckets, value, self.actor.chart.default_private)
        return self._views

    def view(self, caller: Caller) -> View:
        """``caller``'s view of the committed state, remembered for reconnects."""
        view = self.views().of(caller.id)
        self.cache.put(view, self.system.clock())
        return view

    def published(self, results: list[StepResult]) -> None:
        """After committed steps: bring every connection up to date and wake the waiters
        whose condition now holds."""
        if self.actor.snapshot_json() is self._published:
            return
        self._published = self.actor.snapshot_json()
        self._views = None
        frames = Frames()
        for conn in self.connections:
            self.update(conn, frames, remember=False)
        now = self.system.clock()
        for view in {id(c.view): c.view for c in self.connections if c.view is not None}.values():
            self.cache.put(view, now)
        if self.waiters:
            self._wake(results)

    def update(self, conn: Connection, frames: Frames, *, remember: bool = True) -> None:
        """Send ``conn`` the frame that brings it to the current view, if it needs one."""
        view = self.view(conn.caller) if remember else self.views().of(conn.caller.id)
        frame = frames.frame(conn.view, view)
        if frame is not None:
            conn.view = view
            conn.deliver(frame)

    # -- waiting -------------------------------------------------------------------------------

    async def wait(self, state: StateValue | None, event: Mapping[str, Any] | None,
                   timeout: float) -> bool:
        """Wait until the actor is in ``state`` (true at once if it is) or has committed
        ``event``; ``False`` if ``timeout`` seconds pass first."""
        if event is None and state is not None and matches_state(state, self.actor.value):
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(state, event, future)
        self.waiters.append(waiter)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            if waiter in self.waiters:
                self.waiters.remove(waiter)

    def _wake(self, results: list[StepResult]) -> None:
        for waiter in list(self.waiters):
            if waiter.future.done():
                self.waiters.remove(waiter)
                continue
            if waiter.event is not None:
                hit = any(_event_matches(waiter.event, r) for r in results)
            else:
                hit = waiter.state is not None and matches_state(waiter.state, self.actor.value)
            if hit:
                waiter.future.set_result(None)
                self.waiters.remove(waiter)

    @property
    def idle(self) -> bool:
        """Whether nothing holds the actor in memory: no connection, waiter or running event."""
        return not self.connections and not self.waiters and not self.users


def _event_matches(wanted: Mapping[str, Any], result: StepResult) -> bool:
    """Whether a committed step was the event ``wanted``: the same type and the same value for
    every other field ``wanted`` names."""
    return result.error is None and result.type == wanted.get("type") and all(
        k == "type" or (result.data or {}).get(k) == v for k, v in wanted.items())
