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

import orjson
from fastapi import APIRouter, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from ..auth import parse_access_token
from ..errors import AuthError, EventRejected, StepError
from ..events import Caller
from ..runtime import ActorSystem, Connection, UnknownActorType, WaitTimeout

__all__ = ["create_router"]

PATH = "/{actor_type}/{actor_id}"
#: How many frames may wait for a slow WebSocket before it is dropped (it can reconnect).
MAX_PENDING_FRAMES = 1000
_TOO_SLOW = b""


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(status: int, message: str, **extra: Any) -> Response:
    return _json(status, {"error": message, **extra})


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _query_json(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise _BadRequest(f"Invalid {name}: not JSON ({e})") from None


def _wait_options(request: Request) -> dict[str, Any]:
    state = _query_json(request, "waitForState")
    event = _query_json(request, "waitForEvent")
    if event is not None and not (isinstance(event, dict) and isinstance(event.get("type"), str)):
        raise _BadRequest('Invalid waitForEvent: an event object like {"type": "ADD_TODO"}')
    if state is not None and not isinstance(state, str | dict):
        raise _BadRequest("Invalid waitForState: a state value like \"ready\" or "
                          "{\"loaded\": \"success\"}")
    raw_timeout = request.query_params.get("timeout")
    timeout = 5000
    if raw_timeout is not None:
        if not raw_timeout.isdigit() or int(raw_timeout) <= 0:
            raise _BadRequest("Invalid timeout: a positive whole number of milliseconds")
        timeout = int(raw_timeout)
    raw_error = request.query_params.get("errorOnWaitTimeout", "true")
    if raw_error not in ("true", "false"):
        raise _BadRequest("Invalid errorOnWaitTimeout: true or false")
    return {"wait_for_state": state, "wait_for_event": event, "timeout": timeout / 1000,
            "error_on_timeout": raw_error == "true"}


def create_router(system: ActorSystem, *, secret: str) -> Any:
    """The routes serving ``system``'s actors, checking tokens signed with ``secret``."""
    router = APIRouter()

    def authenticate(token: str, actor_type: str, actor_id: str) -> Caller:
        return parse_access_token(token, signing_key=secret, actor_type=actor_type,
                                  actor_id=actor_id)

    def bearer(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def unauthorized(e: AuthError) -> Response:
        return _error(401, f"Error: {e}. API requests must specify a valid caller in Bearer "
                           f"token (Authorization: Bearer <token>)")

    @router.get(PATH)
    async def get_snapshot(actor_type: str, actor_id: str, request: Request) -> Response:
        """The caller's view and its checksum; optionally after waiting for a state or event."""
        try:
            system.chart(actor_type)
            caller = authenticate(bearer(request), actor_type, actor_id)
            options = _wait_options(request)
            given = _query_json(request, "input")
        except UnknownActorType as e:
            return _error(400, str(e))
        except AuthError as e:
            return unauthorized(e)
        except _BadRequest as e:
            return _error(400, e.message)
        error_on_timeout = options.pop("error_on_timeout")
        try:
            view = await system.snapshot(actor_type, actor_id, caller, input=given, **options)
        except EventRejected as e:
            return _error(400, f"Invalid input: {e.message}", pointer=e.pointer)
        except WaitTimeout as e:
            if error_on_timeout:
                return _error(408, str(e))
            view = await system.snapshot(actor_type, actor_id, caller)
        return _json(200, {"snapshot": view.data, "checksum": view.checksum})

    @router.post(PATH)
    async def post_event(actor_type: str, actor_id: str, request: Request) -> Response:
        """Run one event; answer once it is committed."""
        try:
            system.chart(actor_type)
            caller = authenticate(bearer(request), actor_type, actor_id)
            given = _query_json(request, "input")
            event = orjson.loads(await request.body())
        except UnknownActorType as e:
            return _error(400, str(e))
        except AuthError as e:
            return unauthorized(e)
        except _BadRequest as e:
            return _error(400, e.message)
        except orjson.JSONDecodeError as e:
            return _error(400, f"the body must be a JSON event like {{\"type\": ...}}: {e}")
        try:
            result, checksum = await system.send(actor_type, actor_id, caller, event,
                                                 input=given)
        except EventRejected as e:
            return _error(400, e.message if e.pointer or e.event_type else str(e),
                          type=e.event_type, pointer=e.pointer)
        except StepError as e:
            return _error(500, str(e), kind=type(e).__name__, type=e.event_type)
        return _json(200, {"success": True, "seq": result.seq, "checksum": checksum,
                           "outputs": list(result.outputs)})

    @router.api_route(PATH, methods=["PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def other_methods(actor_type: str, actor_id: str) -> Response:
        return _error(405, "Method not allowed")

    @router.websocket(PATH)
    async def stream(websocket: WebSocket, actor_type: str, actor_id: str) -> None:
        """Frames of the caller's view, and events from the caller."""
        params = websocket.query_params
        try:
            system.chart(actor_type)
            caller = authenticate(params.get("accessToken", ""), actor_type, actor_id)
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
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        conn: Connection | None = None

        def deliver(frame: bytes) -> None:
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
                await websocket.send_text(frame.decode())

        writer = asyncio.create_task(write())
        try:
            conn = await system.connect(actor_type, actor_id, caller, deliver,
                                        checksum=params.get("checksum") or None, input=given)
            while True:
                message = await websocket.receive()
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
                 event_type: str | None = None) -> bytes:
    checksum = conn.view.checksum if conn.view is not None else ""
    return orjson.dumps({"operations": [], "checksum": checksum,
                         "error": {"kind": kind, "message": message, "pointer": pointer,
                                   "type": event_type}})


async def _deny(websocket: WebSocket, status: int, message: str) -> None:
    """Refuse a WebSocket before accepting it, with an HTTP status when the server can."""
    try:
        await websocket.send_denial_response(JSONResponse({"error": message},
                                                          status_code=status))
    except RuntimeError:
        await websocket.close(code=1008, reason=message[:120])
