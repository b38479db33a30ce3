"""The WebSocket endpoint, as a bare ASGI app: the view of one caller, kept current frame by
frame, and events from that caller.

Frames to a socket go out in commit order through an :class:`Outbox`: a frame is written at
once, in the committing task, when nothing is waiting and the transport takes it without
blocking, which is nearly always (a broadcast then costs what a plain send loop costs). Only a
socket that blocks gets a writer task of its own, so a slow client never holds up the others;
one too far behind (``socket_buffer`` bytes waiting) is closed and reconnects with its last
checksum, and one that takes nothing for ``socket_stall`` seconds is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson

from .. import jsonvalue
from ..auth import TokenVerifier
from ..errors import (
    ActorIdError,
    AuthError,
    EventRejected,
    Quarantined,
    SnapshotError,
    StepError,
    excerpt,
)
from ..runtime import ActorSystem, Connection, UnknownActorType
from ..store.base import StoreError
from .failures import Failure, failure
from .query import BadRequest, Query
from .wire import Malformed, check_path_id, loads

__all__ = ["EXPIRED", "Outbox", "SocketEndpoint", "transport_of"]

#: The reason of the close (code 1008) that ends a socket when its access token expires.
EXPIRED = "access token expired: reconnect with a fresh token"

_BINARY = "binary frames are not events: send each event as a JSON text frame"

Send = Callable[[dict[str, Any]], Awaitable[None]]

log = logging.getLogger("actorkit")


class Outbox:
    """The frames still to go to one socket, in order.

    At most ``limit`` bytes of frames (counted as their characters) wait for a socket that
    blocks: past that the client is too far behind, what waits is dropped and the socket is
    closed (1013) after the frame being written; it resumes from its last checksum when it
    reconnects. A socket with frames waiting that takes nothing for ``stall`` seconds (no
    frame goes out, and the ``transport`` holds no fewer bytes for it) is dropped: its
    connection is reset, since a client that never reads never takes a close frame either,
    and the connection would stay, with what the transport holds for it, until it went.
    Without the ``transport`` (a server that does not let the app reach it) the outbox stops
    sending instead, and holds nothing more.
    """

    __slots__ = ("_buffered", "_closing", "_limit", "_moved", "_overflow", "_pending",
                 "_send", "_stall", "_task", "_timer", "_transport", "_waiting", "closed")

    def __init__(self, send: Send, *, limit: int = 1024 * 1024, stall: float = 10.0,
                 transport: Any = None) -> None:
        self._send = send
        self._limit = limit
        self._stall = stall
        self._transport = transport
        self._buffered = 0  # what the transport held for the socket when last looked at
        self._pending: deque[str] = deque()
        self._waiting = 0  # characters in _pending
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._moved = 0.0  # when a frame last went out while the socket blocked
        self._overflow = False
        self._closing: dict[str, Any] | None = None  # a close to send after the frames
        self.closed = False

    def push(self, frame: str) -> None:
        """Queue ``frame``; write it now if the socket is free and does not block."""
        if self.closed:
            return
        if self._task is not None:
            if self._overflow:
                return
            self._waiting += len(frame)
            if self._waiting > self._limit:
                self._overflow = True  # too far behind: the close goes next
                self._pending.clear()
                self._waiting = 0
            else:
                self._pending.append(frame)
            return
        send = self._send({"type": "websocket.send", "text": frame})
        if not asyncio.iscoroutine(send):  # not a coroutine: let asyncio run it
            self._start(self._drain(None, send))
            return
        try:
            waiting = send.send(None)
        except StopIteration:
            return  # written
        except Exception:
            self.closed = True  # the socket is gone; its receive loop will see it
            return
        # The transport is full: finish this send, and the ones after it, in a task.
        self._start(self._drain(send, waiting))

    def _start(self, drain: Coroutine[Any, Any, None]) -> None:
        """Run ``drain`` in a task, and watch that the socket keeps taking frames."""
        self._task = asyncio.ensure_future(drain)
        loop = asyncio.get_running_loop()
        self._moved = loop.time()
        self._buffered = self._held()
        if self._timer is None:
            self._timer = loop.call_later(self._stall, self._watch)

    def _held(self) -> int:
        """Bytes the transport holds for the socket (0 without one)."""
        transport = self._transport
        return int(transport.get_write_buffer_size()) if transport is not None else 0

    def _watch(self) -> None:
        self._timer = None
        if self._task is None or self._task.done():
            return  # caught up
        loop = asyncio.get_running_loop()
        held = self._held()
        if held < self._buffered:  # a slow client, taking a large frame bit by bit
            self._moved = loop.time()
        self._buffered = held
        idle = loop.time() - self._moved
        if idle < self._stall:
            self._timer = loop.call_later(self._stall - idle, self._watch)
            return
        # Stalled: nothing went out for `stall` seconds.
        self.closed = True
        self._pending.clear()
        self._waiting = 0
        if self._transport is not None:
            _reset(self._transport)  # the blocked send fails, the receive loop sees the end
        else:
            self._task.cancel()

    async def _drain(self, blocked: Coroutine[Any, Any, None] | None, waiting: Any) -> None:
        loop = asyncio.get_running_loop()
        try:
            if blocked is None:
                await waiting
            else:
                await _finish(blocked, waiting)
            self._moved = loop.time()
            while self._pending and not self._overflow:
                frame = self._pending.popleft()
                self._waiting -= len(frame)
                await self._send({"type": "websocket.send", "text": frame})
                self._moved = loop.time()
            if self._closing is not None and not self._overflow:
                await self._send(self._closing)
            if self._overflow:
                self.closed = True
                await self._send({"type": "websocket.close", "code": 1013,
                                  "reason": "too far behind: reconnect"})
        except Exception:
            self.closed = True
        finally:
            self._task = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def push_close(self, code: int, reason: str, *, drop: bool = False) -> None:
        """Close the socket with ``code`` and ``reason`` once the frames before are sent (with
        ``drop``, once the one being written is: those waiting are dropped). A socket that
        takes nothing meanwhile is reset after ``stall`` seconds, as any other."""
        if self.closed:
            return
        if drop:
            self._pending.clear()
            self._waiting = 0
        message = {"type": "websocket.close", "code": code, "reason": reason}
        if self._task is None:
            self._start(self._drain(None, self._send(message)))
        else:
            self._closing = message
        self.closed = True

    def close(self) -> None:
        """Stop sending (the socket is going away)."""
        self.closed = True
        if self._task is not None:
            self._task.cancel()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def transport_of(send: Send) -> Any:
    """The transport under a socket's ``send``, if the server lets the app reach it: uvicorn
    gives the app its protocol's own ``send`` method, whose object holds it. ``None`` under
    other servers, or when middleware wraps ``send``."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    needs = ("abort", "get_write_buffer_size", "get_extra_info")
    return transport if all(callable(getattr(transport, n, None)) for n in needs) else None


def _reset(transport: Any) -> None:
    """Drop a connection at once. Aborting closes the socket, but the kernel would go on
    offering the client what it never reads (a FIN waits behind it) for minutes: a zero
    linger resets the connection and drops its buffers now."""
    sock = transport.get_extra_info("socket")
    with contextlib.suppress(Exception):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _finish(coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Run a coroutine that has been started by hand and is waiting on ``waiting`` (the future
    it yielded) to its end, as an asyncio task would."""
    try:
        while True:
            if waiting is None:  # a bare yield (asyncio.sleep(0)): just let the loop run
                await asyncio.sleep(0)
                waiting = coroutine.send(None)
                continue
            # Whoever receives a yielded future clears this flag first (asyncio's own tasks
            # do): it marks the future as being waited on by a coroutine that yielded it.
            waiting._asyncio_future_blocking = False
            try:
                await waiting
            except BaseException as e:  # hand the failure to the coroutine, as a task would
                waiting = coroutine.throw(e)
                continue
            waiting = coroutine.send(None)
    except StopIteration:
        return
    finally:
        coroutine.close()


def _token(query: Query) -> str:
    """The access token: Actor Kit's clients send ``accessToken``, PartySocket clients set up
    as Actor Kit's README does send ``token`` (and their connection id as ``_pk``, which
    the token's caller makes redundant)."""
    given = query.get("accessToken")
    other = query.get("token")
    if given is not None and other is not None and given != other:
        raise BadRequest("Invalid query: accessToken and token differ; give one of them")
    return given or other or ""


class SocketEndpoint:
    """``/{actor_type}/{actor_id}?accessToken=...&checksum=...&input=...`` for WebSockets
    (``token`` for ``accessToken`` as well, as PartySocket clients send it)."""

    def __init__(self, system: ActorSystem, tokens: TokenVerifier, *, dev: bool) -> None:
        self.system = system
        self.tokens = tokens
        self.dev = dev

    async def __call__(self, scope: Any, receive: Any, send: Send) -> None:
        params = scope["path_params"]
        actor_type, actor_id = params["actor_type"], params["actor_id"]
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            check_path_id(scope, actor_id)
            self.system.chart(actor_type)
            query = Query(scope)
            caller, lifetime = self.tokens.verify_until(_token(query), actor_type, actor_id)
            checksum = query.get("checksum") or None
            given = query.json("input")
        except (UnknownActorType, ActorIdError) as e:
            await _deny(scope, send, 400, str(e))
            return
        except AuthError as e:
            await _deny(scope, send, 401, f"Error: {e}")
            return
        except Exception as e:  # a malformed query parameter
            await _deny(scope, send, 400, str(getattr(e, "message", e)))
            return
        await send({"type": "websocket.accept"})
        limits = self.system.limits
        outbox = Outbox(send, limit=limits.socket_buffer, stall=limits.socket_stall,
                        transport=transport_of(send))
        expiry = _Expiry(lifetime, outbox)
        conn: Connection | None = None
        max_body = limits.max_body

        def end(error: Quarantined) -> None:  # the actor was quarantined
            if conn is not None:
                outbox.push(_failure_frame(conn, failure(error, dev=self.dev, doing="")))
            outbox.push_close(1011, "the actor was quarantined")

        try:
            conn = await self.system.connect(actor_type, actor_id, caller, outbox.push,
                                             checksum=checksum, input=given, end=end)
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    break
                if expiry.expired:  # sent before the close went out: the token is no good
                    continue
                text = message.get("text")
                if _too_long(text if text is not None else message.get("bytes"), max_body):
                    # As uvicorn does with its ws_max_size (actorkit serve sets it to this).
                    with contextlib.suppress(Exception):
                        await send({"type": "websocket.close", "code": 1009,
                                    "reason": "message too big: over ACTORKIT_MAX_BODY"})
                    break
                if text is None:
                    outbox.push(_error_frame(conn, "EventRejected", _BINARY, ""))
                    continue
                await self._handle(conn, actor_type, actor_id, text, outbox.push)
                # A step need not suspend (the SQLite store commits in place) and uvicorn
                # queues a client's frames as they arrive: without a yield, a burst on one
                # socket would hold up every other request until the whole burst had run.
                await asyncio.sleep(0)
        except EventRejected as e:  # input refused on first touch
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 1008,
                            "reason": str(e)[:120]})
        except (SnapshotError, StepError, Quarantined) as e:  # the actor cannot be brought in
            told = failure(e, dev=self.dev, doing=f"WebSocket {actor_type}/{actor_id} "
                                                  f"({caller.type}:{caller.id})")
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 1011,
                            "reason": _reason(told)})
        except StoreError as e:
            log.warning("WebSocket %s/%s closed: %s", actor_type, actor_id, e)
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 1011,
                            "reason": str(e)[:120]})
        except (asyncio.CancelledError, OSError):
            pass
        finally:
            expiry.cancel()
            outbox.close()
            if conn is not None:
                await self.system.disconnect(conn)

    async def _handle(self, conn: Connection, actor_type: str, actor_id: str, text: str,
                      deliver: Callable[[str], None]) -> None:
        """One client frame: a bare event. A bad one gets an error frame that Actor Kit's JS
        client takes as a no-op patch (``operations`` empty); the connection stays open."""
        try:
            event = loads(text)
            await self.system.send(actor_type, actor_id, conn.caller, event)
        except Malformed as e:
            deliver(_error_frame(conn, "EventRejected",
                                 excerpt(f"the frame must be a JSON event: {e}"), ""))
        except jsonvalue.InexactNumber as e:
            deliver(_error_frame(conn, "EventRejected", e.message, e.pointer))
        except EventRejected as e:
            deliver(_error_frame(conn, "EventRejected", str(e), e.pointer, e.event_type))
        except (StepError, Quarantined) as e:
            told = failure(e, dev=self.dev, doing=f"WebSocket {actor_type}/{actor_id} "
                                                  f"({conn.caller.type}:{conn.caller.id})")
            deliver(_failure_frame(conn, told))
        except StoreError as e:
            deliver(_error_frame(conn, "StoreError", f"{e}; nothing was committed: send it "
                                                     f"again", ""))


class _Expiry:
    """Closes a socket when its access token expires (1008, "reconnect with a fresh
    token"): a socket lives as long as the token it was opened with, like a request."""

    __slots__ = ("_outbox", "_timer", "expired")

    def __init__(self, lifetime: float, outbox: Outbox) -> None:
        self.expired = False
        self._outbox = outbox
        self._timer = asyncio.get_running_loop().call_later(max(lifetime, 0.0), self._expire)

    def _expire(self) -> None:
        self.expired = True
        # No frame may follow the close; one that takes nothing is reset like any other.
        self._outbox.push_close(1008, EXPIRED, drop=True)

    def cancel(self) -> None:
        """The socket is going away: no need to close it."""
        self._timer.cancel()


def _too_long(message: str | bytes | None, limit: int) -> bool:
    """Whether a WebSocket message is over ``limit`` bytes (text is encoded only when its
    length in characters leaves it in doubt)."""
    if message is None or len(message) <= limit // 4:
        return False
    if isinstance(message, bytes) or len(message) > limit:
        return len(message) > limit
    return len(message.encode()) > limit


def _error_frame(conn: Connection, kind: str, message: str, pointer: str,
                 event_type: str | None = None, **more: Any) -> str:
    checksum = conn.view.checksum if conn.view is not None else ""
    return orjson.dumps({"operations": [], "checksum": checksum,
                         "error": {"kind": kind, "message": message, "pointer": pointer,
                                   "type": event_type, **more}}).decode()


def _failure_frame(conn: Connection, told: Failure) -> str:
    """The error frame of a failed step: what :func:`failure` tells its client."""
    body = told.body
    more = {k: v for k, v in body.items() if k not in ("error", "kind", "type")}
    return _error_frame(conn, body["kind"], body["error"], "", body.get("type"), **more)


def _reason(told: Failure) -> str:
    """A close frame's reason (at most 123 bytes) that keeps the failure's reference."""
    text: str = told.body["error"]
    tail = f" (reference {told.body['ref']})" if "ref" in told.body else ""
    if len(text.encode()) <= 120:
        return text
    return text.encode()[:120 - len(tail)].decode(errors="ignore") + tail


async def _deny(scope: Any, send: Send, status: int, message: str) -> None:
    """Refuse a WebSocket before accepting it, with an HTTP status when the server can."""
    if "websocket.http.response" in scope.get("extensions", {}):
        body = orjson.dumps({"error": message})
        await send({"type": "websocket.http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
