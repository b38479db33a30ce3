"""The HTTP and WebSocket routes, with Actor Kit's paths, query names, bodies and status codes.

``GET /{type}/{id}`` returns ``{"snapshot": <caller's view>, "checksum"}``; ``POST /{type}/{id}``
runs an event and answers once it is committed; a WebSocket on the same path streams
``{"operations": [...], "checksum"}`` frames and takes bare events. Mount the router under any
prefix (Actor Kit's clients expect ``/api``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from ..auth import TokenVerifier
from ..errors import AuthError, EventRejected, StepError
from ..events import Caller
from ..runtime import ActorSystem, Connection, UnknownActorType, WaitTimeout

__all__ = ["create_router"]

PATH = "/{actor_type}/{actor_id}"
#: How many frames may wait for a slow WebSocket before it is dropped (it can reconnect).
MAX_PENDING_FRAMES = 1000
_TOO_SLOW = ""


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _wait_options(query: _Query) -> dict[str, Any]:
    state = query.json("waitForState")
    event = query.json("waitForEvent")
    if event is not None and not (isinstance(event, dict) and isinstance(event.get("type"), str)):
        raise _BadRequest('Invalid waitForEvent: an event object like {"type": "ADD_TODO"}')
    if state is not None and not isinstance(state, str | dict):
        raise _BadRequest("Invalid waitForState: a state value like \"ready\" or "
                          "{\"loaded\": \"success\"}")
    raw_timeout = query.get("timeout")
    timeout = 5000
    if raw_timeout is not None:
        if not raw_timeout.isdigit() or int(raw_timeout) <= 0:
            raise _BadRequest("Invalid timeout: a positive whole number of milliseconds")
        timeout = int(raw_timeout)
    raw_error = query.get("errorOnWaitTimeout", "true")
    if raw_error not in ("true", "false"):
        raise _BadRequest("Invalid errorOnWaitTimeout: true or false")
    return {"wait_for_state": state, "wait_for_event": event, "timeout": timeout / 1000,
            "error_on_timeout": raw_error == "true"}


def create_router(system: ActorSystem, *, secret: str, prefix: str = "") -> APIRouter:
    """The routes serving ``system``'s actors, checking tokens signed with ``secret``: mount
    them with ``app.include_router(router, prefix="/api")`` (or build them with ``prefix``)."""
    router = APIRouter()
    tokens = TokenVerifier(secret)
    path = prefix + PATH
    # HTTP is served by a bare ASGI endpoint: FastAPI's per-request machinery (dependency
    # solving, Request and Response objects) cost more than running the event itself.
    router.add_route(path, _HTTP(system, tokens),  # type: ignore[arg-type]  # plain ASGI
                     include_in_schema=False, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])

    @router.websocket(path)
    async def stream(websocket: WebSocket, actor_type: str, actor_id: str) -> None:
        """Frames of the caller's view, and events from the caller."""
        params = websocket.query_params
        try:
            system.chart(actor_type)
            caller = tokens.verify(params.get("accessToken", ""), actor_type, actor_id)
            given = orjson.loads(params["input"]) if "input" in params else None
        except UnknownActorType as e:
            await _deny(websocket, 400, str(e))
            return
        except AuthError as e:
            await _deny(websocket, 401, f"Error: {e}")
            return
        except orjson.JSONDecodeError as e:
            await _deny(websocket, 400, f"Invalid input: not JSON ({e})")
            return
        await websocket.accept()
        send = websocket.send
        queue: asyncio.Queue[str] = asyncio.Queue()
        conn: Connection | None = None

        def deliver(frame: str) -> None:
            if queue.qsize() < MAX_PENDING_FRAMES:
                queue.put_nowait(frame)
            elif queue.qsize() == MAX_PENDING_FRAMES:
                queue.put_nowait(_TOO_SLOW)

        async def write() -> None:
            while True:
                frame = await queue.get()
                if frame is _TOO_SLOW:
                    # Too far behind: close; the client reconnects with its last checksum.
                    await websocket.close(code=1013, reason="too far behind: reconnect")
                    return
                await send({"type": "websocket.send", "text": frame})

        writer = asyncio.create_task(write())
        try:
            conn = await system.connect(actor_type, actor_id, caller, deliver,
                                        checksum=params.get("checksum") or None, input=given)
            receive = websocket.receive
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode("utf-8", "replace")
                await _handle(system, conn, actor_type, actor_id, text or "", deliver)
        except (WebSocketDisconnect, asyncio.CancelledError):
            pass
        except EventRejected as e:  # input refused on first touch
            with contextlib.suppress(Exception):
                await websocket.close(code=1008, reason=str(e)[:120])
        finally:
            writer.cancel()
            if conn is not None:
                await system.disconnect(conn)

    return router


class _HTTP:
    """``GET``/``POST /{actor_type}/{actor_id}`` as a bare ASGI app (405 for other methods)."""

    def __init__(self, system: ActorSystem, tokens: TokenVerifier) -> None:
        self.system = system
        self.tokens = tokens

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        params = scope["path_params"]
        actor_type, actor_id = params["actor_type"], params["actor_id"]
        method = scope["method"]
        if method == "GET":
            status, body = await self.get(scope, actor_type, actor_id)
        elif method == "POST":
            status, body = await self.post(scope, receive, actor_type, actor_id)
        else:
            status, body = 405, {"error": "Method not allowed"}
        data = orjson.dumps(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    def _caller(self, scope: Any, actor_type: str, actor_id: str) -> Caller:
        self.system.chart(actor_type)
        token = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                token = rest.strip() if scheme.lower() == "bearer" else ""
                break
        return self.tokens.verify(token, actor_type, actor_id)

    async def get(self, scope: Any, actor_type: str, actor_id: str) -> tuple[int, Any]:
        try:
            caller = self._caller(scope, actor_type, actor_id)
            query = _Query(scope)
            options = _wait_options(query)
            given = query.json("input")
        except UnknownActorType as e:
            return 400, {"error": str(e)}
        except AuthError as e:
            return 401, _unauthorized(e)
        except _BadRequest as e:
            return 400, {"error": e.message}
        error_on_timeout = options.pop("error_on_timeout")
        try:
            view = await self.system.snapshot(actor_type, actor_id, caller, input=given,
                                              **options)
        except EventRejected as e:
            return 400, {"error": f"Invalid input: {e.message}", "pointer": e.pointer}
        except WaitTimeout as e:
            if error_on_timeout:
                return 408, {"error": str(e)}
            view = await self.system.snapshot(actor_type, actor_id, caller)
        return 200, {"snapshot": view.data, "checksum": view.checksum}

    async def post(self, scope: Any, receive: Any, actor_type: str,
                   actor_id: str) -> tuple[int, Any]:
        try:
            caller = self._caller(scope, actor_type, actor_id)
            given = _Query(scope).json("input")
            event = orjson.loads(await _body(receive))
        except UnknownActorType as e:
            return 400, {"error": str(e)}
        except AuthError as e:
            return 401, _unauthorized(e)
        except _BadRequest as e:
            return 400, {"error": e.message}
        except orjson.JSONDecodeError as e:
            return 400, {"error": f"the body must be a JSON event like {{\"type\": ...}}: {e}"}
        try:
            result, checksum = await self.system.send(actor_type, actor_id, caller, event,
                                                      input=given)
        except EventRejected as e:
            return 400, {"error": e.message if e.pointer or e.event_type else str(e),
                         "type": e.event_type, "pointer": e.pointer}
        except StepError as e:
            return 500, {"error": str(e), "kind": type(e).__name__, "type": e.event_type}
        return 200, {"success": True, "seq": result.seq, "checksum": checksum,
                     "outputs": list(result.outputs)}


def _unauthorized(e: AuthError) -> dict[str, str]:
    return {"error": f"Error: {e}. API requests must specify a valid caller in Bearer token "
                     f"(Authorization: Bearer <token>)"}


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


class _Query:
    """The query string of a request, parsed once."""

    def __init__(self, scope: Any) -> None:
        raw = scope.get("query_string", b"").decode("latin-1")
        self.values = dict(parse_qsl(raw, keep_blank_values=True)) if raw else {}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    def json(self, name: str) -> Any:
        raw = self.values.get(name)
        if raw is None:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise _BadRequest(f"Invalid {name}: not JSON ({e})") from None


async def _handle(system: ActorSystem, conn: Connection, actor_type: str, actor_id: str,
                  text: str, deliver: Any) -> None:
    """One client frame: a bare event. A bad one gets an error frame Actor Kit's JS client
    takes as a no-op patch (``operations`` empty) and the connection stays open."""
    try:
        event = orjson.loads(text)
        await system.send(actor_type, actor_id, conn.caller, event)
    except orjson.JSONDecodeError as e:
        deliver(_error_frame(conn, "EventRejected", f"the frame is not JSON: {e}", ""))
    except EventRejected as e:
        deliver(_error_frame(conn, "EventRejected", str(e), e.pointer, e.event_type))
    except StepError as e:
        deliver(_error_frame(conn, type(e).__name__, str(e), "", e.event_type))


def _error_frame(conn: Connection, kind: str, message: str, pointer: str,
                 event_type: str | None = None) -> str:
    checksum = conn.view.checksum if conn.view is not None else ""
    return orjson.dumps({"operations": [], "checksum": checksum,
                         "error": {"kind": kind, "message": message, "pointer": pointer,
                                   "type": event_type}}).decode()


async def _deny(websocket: WebSocket, status: int, message: str) -> None:
    """Refuse a WebSocket before accepting it, with an HTTP status when the server can."""
    try:
        await websocket.send_denial_response(JSONResponse({"error": message},
                                                          status_code=status))
    except RuntimeError:
        await websocket.close(code=1008, reason=message[:120])
