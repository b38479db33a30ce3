"""The actor system: actors by ``(type, id)``, activated on first touch, one event at a time
each, their timers woken on time, and their connections kept in sync.

Everything runs on one asyncio event loop. Each actor has a mailbox (a lock: events run one at
a time, in arrival order); after each committed step, every connection to the actor gets the
frame that brings its view up to date, in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .actor import Actor, StepResult
from .chart import Chart
from .errors import ActorkitError
from .events import Caller
from .statevalue import StateValue, matches_state
from .sync import Frames, View, ViewCache, Views

__all__ = ["ActorSystem", "Connection", "UnknownActorType", "WaitTimeout"]


class UnknownActorType(ActorkitError):
    """No chart is served under this actor type."""


class WaitTimeout(ActorkitError):
    """A wait for a state or an event ran out of time."""


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
    caller: Caller
    future: asyncio.Future[None]


class Cell:
    """One activated actor with its mailbox, timer, connections and view cache."""

    def __init__(self, system: ActorSystem, actor: Actor) -> None:
        self.system = system
        self.actor = actor
        self.lock = asyncio.Lock()
        self.connections: list[Connection] = []
        self.callers: Counter[str] = Counter()
        self.cache = ViewCache(size=system.cache_size, ttl=system.cache_ttl)
        self.timer: asyncio.TimerHandle | None = None
        self.waiters: list[_Waiter] = []
        self._views: Views | None = None
        self._published = actor.snapshot_json()

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

    def committed(self, results: Iterable[StepResult]) -> None:
        """After one or more committed steps: bring every connection up to date, wake the
        waiters whose condition now holds, and set the timer for the next deadline. Nothing
        is sent when nothing was committed."""
        if self.actor.snapshot_json() is self._published:
            self.schedule()  # a timer may wake a hair early (asyncio's clock resolution)
            return
        self._published = self.actor.snapshot_json()
        self._views = None
        frames = Frames()
        for conn in self.connections:
            self._update(conn, frames, remember=False)
        now = self.system.clock()
        for view in {id(c.view): c.view for c in self.connections if c.view is not None}.values():
            self.cache.put(view, now)
        results = list(results)
        if self.waiters:
            self._wake(results)
        self.schedule()

    def _update(self, conn: Connection, frames: Frames, *, remember: bool = True) -> None:
        view = self.view(conn.caller) if remember else self.views().of(conn.caller.id)
        frame = frames.frame(conn.view, view)
        if frame is not None:
            conn.view = view
            conn.deliver(frame)

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

    def schedule(self) -> None:
        """Arm the timer for the actor's next deadline (or disarm it)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        due = self.actor.next_deadline
        if due is None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, due - self.system.clock())
        self.timer = loop.call_later(delay, self._wake_up)

    def _wake_up(self) -> None:
        self.timer = None
        task = asyncio.get_running_loop().create_task(self.tick())
        self.system._tasks.add(task)
        task.add_done_callback(self.system._tasks.discard)

    async def tick(self) -> list[StepResult]:
        """Run the timer steps that are due now."""
        async with self.lock:
            results = self.actor.advance(self.system.clock())
            self.committed(results)
            return results


def _event_matches(wanted: Mapping[str, Any], result: StepResult) -> bool:
    """Whether a committed step (or a timer step before it) was the event ``wanted``: the same
    type and the same value for every other field ``wanted`` names."""
    return any(
        r.error is None and r.type == wanted.get("type")
        and all(k == "type" or (r.data or {}).get(k) == v for k, v in wanted.items())
        for r in (result, *result.timers))


class ActorSystem:
    """The actors of a set of charts, by ``(actor type, actor id)``.

    ``clock`` is the time source of every actor (epoch seconds). Views sent to connections and
    returned by :meth:`snapshot` are kept ``cache_ttl`` seconds (at most ``cache_size`` per
    actor) so that reconnecting clients get a diff.
    """

    def __init__(self, charts: Mapping[str, Chart], *, clock: Callable[[], float] = time.time,
                 cache_size: int = 256, cache_ttl: float = 300.0) -> None:
        self.charts = dict(charts)
        self.clock = clock
        self.cache_size = cache_size
        self.cache_ttl = cache_ttl
        self._cells: dict[tuple[str, str], Cell] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def chart(self, actor_type: str) -> Chart:
        """The chart served under ``actor_type``."""
        chart = self.charts.get(actor_type)
        if chart is None:
            raise UnknownActorType(f"Unknown actor type: {actor_type}")
        return chart

    def get(self, actor_type: str, actor_id: str) -> Actor | None:
        """The actor, if it is active."""
        cell = self._cells.get((actor_type, actor_id))
        return cell.actor if cell is not None else None

    async def cell(self, actor_type: str, actor_id: str, caller: Caller,
                   input: Any = None) -> Cell:
        """The actor's cell, spawning the actor on first touch: ``caller`` becomes its initial
        caller and ``input`` (checked against the input schema) its input."""
        key = (actor_type, actor_id)
        cell = self._cells.get(key)
        if cell is None:
            chart = self.chart(actor_type)
            actor = Actor.spawn(chart, actor_id, caller=caller, input=input, clock=self.clock)
            cell = self._cells.setdefault(key, Cell(self, actor))
            if cell.actor is actor:
                cell.schedule()
        return cell

    async def send(self, actor_type: str, actor_id: str, caller: Caller,
                   event: Mapping[str, Any], *, input: Any = None) -> tuple[StepResult, str]:
        """Run ``event`` from ``caller``; returns the step and ``caller``'s new checksum once
        the step is committed and every connection has its frame."""
        cell = await self.cell(actor_type, actor_id, caller, input)
        async with cell.lock:
            try:
                result = cell.actor.send(event, caller)
            except ActorkitError:
                cell.committed([])  # timers due before the event may have run
                raise
            cell.committed([result])
            return result, cell.view(caller).checksum

    async def snapshot(self, actor_type: str, actor_id: str, caller: Caller, *,
                       input: Any = None, wait_for_state: StateValue | None = None,
                       wait_for_event: Mapping[str, Any] | None = None,
                       timeout: float = 5.0) -> View:
        """``caller``'s view. With ``wait_for_state`` (returns at once if the actor is in it)
        or ``wait_for_event`` (a later event of that type with those fields), waits up to
        ``timeout`` seconds and raises :class:`WaitTimeout` if it does not come."""
        cell = await self.cell(actor_type, actor_id, caller, input)
        if wait_for_state is not None or wait_for_event is not None:
            await self._wait(cell, caller, wait_for_state, wait_for_event, timeout)
        return cell.view(caller)

    async def _wait(self, cell: Cell, caller: Caller, state: StateValue | None,
                    event: Mapping[str, Any] | None, timeout: float) -> None:
        if event is None and state is not None and matches_state(state, cell.actor.value):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(state, event, caller, future)
        cell.waiters.append(waiter)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise WaitTimeout("Timeout waiting for event or state") from None
        finally:
            if waiter in cell.waiters:
                cell.waiters.remove(waiter)

    async def connect(self, actor_type: str, actor_id: str, caller: Caller,
                      deliver: Callable[[str], None], *, checksum: str | None = None,
                      input: Any = None) -> Connection:
        """Subscribe ``deliver`` to the actor's frames for ``caller``. The first frame brings
        the client from the view with ``checksum`` (if still known; else from nothing) to the
        current one; nothing is sent if ``checksum`` is current. The caller's first connection
        sends CONNECT (if the chart handles it)."""
        cell = await self.cell(actor_type, actor_id, caller, input)
        async with cell.lock:
            conn = Connection(cell, caller, deliver)
            conn.view = cell.cache.get(checksum, self.clock())
            cell.connections.append(conn)
            cell.callers[caller.id] += 1
            results = []
            if cell.callers[caller.id] == 1:
                with contextlib.suppress(ActorkitError):  # a failing hook must not refuse it
                    results = [r for r in [cell.actor.connect(caller)] if r is not None]
            cell.committed(results)
            cell._update(conn, Frames())
        return conn

    async def disconnect(self, conn: Connection) -> None:
        """Unsubscribe; the caller's last connection closing sends DISCONNECT."""
        cell = conn.cell
        async with cell.lock:
            if conn not in cell.connections:
                return
            cell.connections.remove(conn)
            cell.callers[conn.caller.id] -= 1
            if cell.callers[conn.caller.id] <= 0:
                del cell.callers[conn.caller.id]
                results = []
                with contextlib.suppress(ActorkitError):
                    results = [r for r in [cell.actor.disconnect(conn.caller)] if r is not None]
                cell.committed(results)

    async def close(self) -> None:
        """Stop every timer and wait for running timer steps."""
        for cell in self._cells.values():
            if cell.timer is not None:
                cell.timer.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
