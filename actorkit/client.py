"""A Python client for actorkit servers (and Actor Kit ones): for services and for tests.

Needs the ``client`` extra (httpx and websockets)::

    client = ActorClient("http://127.0.0.1:8000", "todo", "list-1", token)
    snapshot = await client.fetch()                       # GET: the caller's view + checksum
    await client.send({"type": "ADD_TODO", "text": "milk"})   # POST, answered once committed
    async with client.connect(snapshot) as live:          # WebSocket: the view, kept current
        await live.wait_for(lambda view: len(view["public"]["todos"]) == 2)

The live connection applies each JSON Patch frame, checks the result against the frame's
checksum and starts over from a full view when they differ; it reconnects with backoff,
resuming from the last checksum it received, and queues events sent while disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .errors import ActorkitError
from .sync import PatchError, apply_patch, canonical, checksum

__all__ = ["ActorClient", "ClientError", "Live", "Snapshot"]

View = dict[str, Any]
#: Seconds between reconnection attempts: Actor Kit's 2, 4, 8, 16, then 30.
BACKOFF = (2.0, 4.0, 8.0, 16.0, 30.0)
#: Events kept while disconnected; the oldest is dropped beyond this (as in Actor Kit).
MAX_QUEUED = 100


class ClientError(ActorkitError):
    """The server refused a request: ``status`` and the ``body`` it sent."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        message = body.get("error") if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {message}")


@dataclass(frozen=True)
class Snapshot:
    """A caller's view of an actor and its checksum, as ``GET`` returns them."""

    view: View
    checksum: str


class ActorClient:
    """One caller's handle on one actor: ``token`` says who the caller is."""

    def __init__(self, base_url: str, actor_type: str, actor_id: str, token: str, *,
                 input: Any = None, prefix: str = "/api", timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.actor_type = actor_type
        self.actor_id = actor_id
        self.token = token
        self.input = input
        self.path = f"{prefix}/{actor_type}/{actor_id}"
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout,
                                       headers={"Authorization": f"Bearer {token}"})

    async def __aenter__(self) -> ActorClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    def _input_params(self) -> dict[str, str]:
        return {"input": orjson.dumps(self.input).decode()} if self.input is not None else {}

    async def fetch(self, *, wait_for_state: Any = None, wait_for_event: Any = None,
                    timeout_ms: int | None = None,
                    error_on_timeout: bool | None = None) -> Snapshot:
        """``GET`` the caller's view (spawning the actor with ``input`` on first touch),
        optionally once the actor is in ``wait_for_state`` or has run ``wait_for_event``."""
        params = self._input_params()
        if wait_for_state is not None:
            params["waitForState"] = orjson.dumps(wait_for_state).decode()
        if wait_for_event is not None:
            params["waitForEvent"] = orjson.dumps(wait_for_event).decode()
        if timeout_ms is not None:
            params["timeout"] = str(timeout_ms)
        if error_on_timeout is not None:
            params["errorOnWaitTimeout"] = "true" if error_on_timeout else "false"
        response = await self._http.get(self.path, params=params)
        body = _body(response)
        if response.status_code != 200:
            raise ClientError(response.status_code, body)
        return Snapshot(body["snapshot"], body["checksum"])

    async def send(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """``POST`` one event (a dict, or a TypedDict ``actorkit types`` wrote); returns the
        server's answer once the event is committed
        (``{"success": true, "handled", "seq", "checksum", "outputs"}``; ``handled`` is
        false when no transition took the event, which then changed nothing)."""
        response = await self._http.post(self.path, params=self._input_params(),
                                         content=orjson.dumps(dict(event)),
                                         headers={"Content-Type": "application/json"})
        body = _body(response)
        if response.status_code != 200:
            raise ClientError(response.status_code, body)
        return body  # type: ignore[no-any-return]

    def connect(self, start: Snapshot | None = None, *,
                on_error: Callable[[Any], None] | None = None,
                backoff: tuple[float, ...] = BACKOFF,
                max_attempts: int | None = 5) -> Live:
        """A live connection (an async context manager) keeping the caller's view current,
        starting from ``start`` (a fetched snapshot) or from nothing."""
        query = {"accessToken": self.token, **self._input_params()}
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        host = self.base_url.split("://", 1)[1]
        return Live(f"{scheme}://{host}{self.path}", query, start, on_error=on_error,
                    backoff=backoff, max_attempts=max_attempts)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class Live:
    """A WebSocket to one actor keeping ``view`` current. See :meth:`ActorClient.connect`."""

    def __init__(self, url: str, query: dict[str, str], start: Snapshot | None, *,
                 on_error: Callable[[Any], None] | None, backoff: tuple[float, ...],
                 max_attempts: int | None) -> None:
        self._url = url
        self._query = query
        self.view: View | None = dict(start.view) if start is not None else None
        self.checksum: str | None = start.checksum if start is not None else None
        self.errors: list[Any] = []
        self.frames = 0
        self.resyncs = 0
        self._on_error = on_error
        self._backoff = backoff
        self._max_attempts = max_attempts
        self._listeners: list[Callable[[View], None]] = []
        self._queue: list[Mapping[str, Any]] = []
        self._ws: Any = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._closed = False
        self._resync = False
        self.connected = asyncio.Event()
        self.failed: BaseException | None = None

    async def __aenter__(self) -> Live:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self.wait_for(lambda view: self.connected.is_set())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Disconnect for good."""
        self._closed = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self, listener: Callable[[View], None]) -> Callable[[], None]:
        """Call ``listener(view)`` after every change; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def send(self, event: Mapping[str, Any]) -> None:
        """Send an event over the WebSocket, or queue it (up to 100, dropping the oldest)
        until the connection is back."""
        if self._ws is not None and self.connected.is_set():
            try:
                await self._ws.send(orjson.dumps(dict(event)).decode())
                return
            except ConnectionClosed:
                pass
        self._queue.append(event)
        if len(self._queue) > MAX_QUEUED:
            dropped = self._queue.pop(0)
            self._error({"kind": "QueueOverflow", "message": f"dropped event "
                         f"{dropped.get('type')!r}: more than {MAX_QUEUED} queued while "
                         f"disconnected"})

    async def wait_for(self, predicate: Callable[[View], bool], timeout: float = 5.0) -> View:
        """The view, once ``predicate(view)`` holds (checked now, then after each change).
        Raises ``TimeoutError`` after ``timeout`` seconds."""
        async def watch() -> View:
            while True:
                if self.failed is not None:
                    raise self.failed
                if self.view is not None and predicate(self.view):
                    return self.view
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(watch(), timeout)

    def _error(self, error: Any) -> None:
        self.errors.append(error)
        if self._on_error is not None:
            self._on_error(error)

    def _url_now(self) -> str:
        query = dict(self._query)
        if self.checksum:
            query["checksum"] = self.checksum
        return f"{self._url}?{urlencode(query)}"

    async def _run(self) -> None:
        attempts = 0
        while not self._closed:
            try:
                async with websockets.connect(self._url_now(), max_size=None) as ws:
                    self._ws = ws
                    attempts = 0
                    self.connected.set()
                    await self._flush()
                    self._changed.set()
                    async for message in ws:
                        if not self._apply(message):
                            self._resync = True
                            await ws.close()
                            break
            except InvalidStatus as e:
                self._error({"kind": "Refused", "message": str(e)})
                if e.response.status_code in (400, 401, 403, 404):
                    self._fail(ConnectionRefusedError(str(e)))
                    return
            except (TimeoutError, OSError, ConnectionClosed) as e:
                self._error({"kind": "Disconnected", "message": str(e)})
            finally:
                self._ws = None
                self.connected.clear()
            if self._closed:
                return
            if self._resync:  # start over at once, from the whole view
                self._resync = False
                continue
            if self._max_attempts is not None and attempts >= self._max_attempts:
                self._fail(ConnectionError(f"gave up after {attempts} reconnection attempts"))
                return
            delay = self._backoff[min(attempts, len(self._backoff) - 1)]
            attempts += 1
            await asyncio.sleep(delay * (0.9 + 0.2 * random.random()))

    def _fail(self, error: BaseException) -> None:
        self.failed = error
        self._changed.set()

    async def _flush(self) -> None:
        while self._queue and self._ws is not None:
            event = self._queue.pop(0)
            await self._ws.send(orjson.dumps(dict(event)).decode())

    def _apply(self, message: str | bytes) -> bool:
        """Apply one frame; ``False`` when the view must be fetched whole again."""
        self.frames += 1
        frame = orjson.loads(message)
        if frame.get("error") is not None:
            self._error(frame["error"])
        operations = frame.get("operations") or []
        if not operations and frame.get("checksum") == self.checksum:
            return True
        try:
            view = apply_patch(self.view if self.view is not None else {}, operations)
        except PatchError:
            view = None
        if view is None or checksum(canonical(view)) != frame.get("checksum"):
            # Out of step with the server: start over from the whole view.
            self.resyncs += 1
            self.view, self.checksum = None, None
            return False
        self.view, self.checksum = view, frame["checksum"]
        for listener in list(self._listeners):
            listener(view)
        self._changed.set()
        return True
