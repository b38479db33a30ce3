"""The HTTP and WebSocket routes, with Actor Kit's paths, query names, bodies and status codes.

``GET /{type}/{id}`` returns ``{"snapshot": <caller's view>, "checksum"}``; ``POST /{type}/{id}``
runs an event and answers once it is committed; a WebSocket on the same path streams
``{"operations": [...], "checksum"}`` frames and takes bare events. Mount the router under any
prefix (Actor Kit's clients expect ``/api``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import orjson
from fastapi import APIRouter

from .. import jsonvalue
from ..auth import TokenVerifier
from ..errors import (
    ActorIdError,
    AuthError,
    EventRejected,
    Quarantined,
    SnapshotError,
    StepError,
)
from ..events import Caller
from ..runtime import ActorSystem, NotQuarantined, UnknownActorType, WaitTimeout
from ..store.base import StoreError
from .failures import failure
from .query import BadRequest, Query
from .respond import respond
from .socket import SocketEndpoint
from .wire import Malformed, check_path_id, loads

log = logging.getLogger("actorkit")

__all__ = ["ActorRoutes", "create_router"]

PATH = "/{actor_type}/{actor_id}"

#: The methods the HTTP endpoints answer themselves (405 JSON for all but GET and POST).
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: The methods :meth:`ActorRoutes.match` dispatches directly; the others take the route table,
#: as Starlette answers some of them itself (HEAD, OPTIONS).
_DIRECT_METHODS = ("GET", "POST", "DELETE")


def _wait_options(query: Query, max_wait: float) -> dict[str, Any]:
    state = query.json("waitForState")
    event = query.json("waitForEvent")
    if event is not None and not (isinstance(event, dict) and isinstance(event.get("type"), str)):
        raise BadRequest('Invalid waitForEvent: an event object like {"type": "ADD_TODO"}')
    if state is not None and not isinstance(state, str | dict):
        raise BadRequest("Invalid waitForState: a state value like \"ready\" or "
                          "{\"loaded\": \"success\"}")
    # A longer wait is refused, not shortened: a shortened one would answer 408 (or, with
    # errorOnWaitTimeout=false, the current view) before the time the client asked for.
    longest = int(max_wait * 1000) if math.isfinite(max_wait) else None
    timeout = query.integer("timeout", min(5000, longest or 5000), minimum=1, maximum=longest,
                            unit=" of milliseconds")
    raw_error = query.get("errorOnWaitTimeout", "true")
    if raw_error not in ("true", "false"):
        raise BadRequest("Invalid errorOnWaitTimeout: true or false")
    return {"wait_for_state": state, "wait_for_event": event, "timeout": timeout / 1000,
            "error_on_timeout": raw_error == "true"}


def create_router(system: ActorSystem, *, secret: str, prefix: str = "",
                  dev: bool = False, inspector: bool = False) -> APIRouter:
    """The routes serving ``system``'s actors, checking tokens signed with ``secret``: mount
    them with ``app.include_router(router, prefix="/api")`` (or build them with ``prefix``).
    Clients are told why a step failed in full only in development (``dev``); otherwise
    they get a reference to the log line with the details. With ``inspector``, the inspector
    page is served at ``/_inspect`` beside them, asking for an inspector token."""
    router = APIRouter()
    if inspector:
        from .inspector import create_inspector

        router.routes.extend(create_inspector(system, secret=secret, api_prefix=prefix).routes)
    router.routes.extend(ActorRoutes(system, secret=secret, prefix=prefix, dev=dev)
                         .router().routes)
    return router


class ActorRoutes:
    """The actor endpoints under ``prefix``, as FastAPI routes and as a direct dispatcher that
    finds the same endpoint for a request without Starlette's route table."""

    def __init__(self, system: ActorSystem, *, secret: str, prefix: str = "",
                 dev: bool = False, parties: str | None = None) -> None:
        tokens = TokenVerifier(secret)
        self.system = system
        self.prefix = prefix
        #: where PartySocket clients connect (``/parties/{party}/{room}``: party is the
        #: actor type, room the actor id), or None
        self.parties = parties
        self.http = _HTTP(system, tokens, dev=dev)
        self.journal = _Journal(system, tokens, dev=dev)
        self.quarantine = _Quarantine(system, tokens, dev=dev)
        self.socket = SocketEndpoint(system, tokens, dev=dev)

    def router(self) -> APIRouter:
        router = APIRouter()
        path = self.prefix + PATH
        # HTTP is served by a bare ASGI endpoint: FastAPI's per-request machinery (dependency
        # solving, Request and Response objects) cost more than running the event itself.
        router.add_route(path, self.http,  # type: ignore[arg-type]  # plain ASGI
                         include_in_schema=False, methods=_METHODS)
        router.add_route(path + "/events", self.journal,  # type: ignore[arg-type]
                         include_in_schema=False, methods=_METHODS)
        router.add_route(path + "/quarantine", self.quarantine,  # type: ignore[arg-type]
                         include_in_schema=False, methods=_METHODS)
        router.add_websocket_route(path, self.socket)  # type: ignore[arg-type]
        if self.parties is not None:
            router.add_websocket_route(self.parties + PATH, self.socket)  # type: ignore[arg-type]
        return router

    def match(self, scope: Any) -> Any:
        """The endpoint :meth:`router`'s routes would run for ``scope`` (with its path
        parameters set), or ``None`` when that takes more than a path match: another path,
        a ``root_path``, a method Starlette itself answers."""
        path: str = scope["path"]
        prefix = self.prefix
        if scope["type"] == "websocket" and self.parties is not None and \
                path.startswith(self.parties) and not scope.get("root_path"):
            prefix = self.parties  # PartySocket's path, tried first: "" is a prefix of it
            parts = path[len(prefix) + 1:].split("/")
            if path[len(prefix):len(prefix) + 1] == "/" and len(parts) == 2 and all(parts):
                scope["path_params"] = {"actor_type": parts[0], "actor_id": parts[1]}
                return self.socket
            prefix = self.prefix
        if scope.get("root_path") or not path.startswith(prefix) or \
                path[len(prefix):len(prefix) + 1] != "/":
            return None
        parts = path[len(prefix) + 1:].split("/")
        if not all(parts):
            return None
        endpoint: SocketEndpoint | _HTTP | None
        if scope["type"] == "websocket":
            endpoint = self.socket if len(parts) == 2 else None
        elif scope["method"] not in _DIRECT_METHODS:
            return None
        elif len(parts) == 2:
            endpoint = self.http
        elif len(parts) == 3 and parts[2] == "events":
            endpoint = self.journal
        else:
            endpoint = self.quarantine if len(parts) == 3 and parts[2] == "quarantine" else None
        if endpoint is not None:
            scope["path_params"] = {"actor_type": parts[0], "actor_id": parts[1]}
        return endpoint


class _HTTP:
    """``GET``/``POST /{actor_type}/{actor_id}`` as a bare ASGI app (405 for other methods)."""

    def __init__(self, system: ActorSystem, tokens: TokenVerifier, *, dev: bool) -> None:
        self.system = system
        self.tokens = tokens
        self.dev = dev

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        params = scope["path_params"]
        actor_type, actor_id = params["actor_type"], params["actor_id"]
        try:
            status, body = await self.handle(scope, receive, actor_type, actor_id)
        except (UnknownActorType, ActorIdError) as e:
            status, body = 400, {"error": str(e)}
        except BadRequest as e:
            status, body = 400, {"error": e.message}
        except AuthError as e:
            status, body = 401, _unauthorized(e)
        except _TooLarge as e:
            status, body = 413, {"error": e.message}
        except StoreError as e:  # the operator's to fix (the disk): say why
            status, body = 503, {"error": f"{e}; nothing was committed: try again"}
            log.warning("%s %s/%s: %s", scope["method"], actor_type, actor_id, body["error"])
        except (SnapshotError, StepError, Quarantined) as e:  # the event or the actor failed
            told = failure(e, dev=self.dev, doing=f"{scope['method']} {actor_type}/{actor_id}")
            status, body = told.status, told.body
        except asyncio.CancelledError:
            # The server is stopping and this request outlived its grace period (uvicorn's
            # timeout_graceful_shutdown): say so, rather than a bare 500, and let it end.
            status, body = 503, {"error": "the server stopped before this request was done: "
                                          "read the actor (or its journal) to see whether "
                                          "the event was stored before sending it again",
                                 "kind": "ServerStopping"}
        # After a 413 the rest of the body is not read: close rather than skip it all.
        await respond(send, scope, status, orjson.dumps(body), close=status == 413)

    async def handle(self, scope: Any, receive: Any, actor_type: str,
                     actor_id: str) -> tuple[int, Any]:
        method = scope["method"]
        if method == "GET":
            return await self.get(scope, actor_type, actor_id)
        if method == "POST":
            return await self.post(scope, receive, actor_type, actor_id)
        return 405, {"error": "Method not allowed"}

    def _caller(self, scope: Any, actor_type: str, actor_id: str) -> Caller:
        check_path_id(scope, actor_id)
        self.system.chart(actor_type)
        token = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                token = rest.strip() if scheme.lower() == "bearer" else ""
                break
        return self.tokens.verify(token, actor_type, actor_id)

    async def get(self, scope: Any, actor_type: str, actor_id: str) -> tuple[int, Any]:
        caller = self._caller(scope, actor_type, actor_id)
        query = Query(scope)
        options = _wait_options(query, self.system.limits.max_wait)
        given = query.json("input")
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
        caller = self._caller(scope, actor_type, actor_id)
        given = Query(scope).json("input")
        try:
            event = loads(await _body(scope, receive, self.system.limits.max_body))
        except Malformed as e:
            raise BadRequest(f"the body must be a JSON event like {{\"type\": ...}}: {e}") \
                from None
        except jsonvalue.InexactNumber as e:
            return 400, {"error": e.message, "type": None, "pointer": e.pointer}
        try:
            result, checksum = await self.system.send(actor_type, actor_id, caller, event,
                                                      input=given)
        except EventRejected as e:
            return 400, {"error": e.message if e.pointer or e.event_type else str(e),
                         "type": e.event_type, "pointer": e.pointer}
        return 200, {"success": True, "handled": result.handled, "seq": result.seq,
                     "checksum": checksum, "outputs": list(result.outputs)}


class _Journal(_HTTP):
    """``GET /{actor_type}/{actor_id}/events?after=&limit=``: the journal, for services."""

    async def handle(self, scope: Any, receive: Any, actor_type: str,
                     actor_id: str) -> tuple[int, Any]:
        if scope["method"] != "GET":
            return 405, {"error": "Method not allowed"}
        caller = self._caller(scope, actor_type, actor_id)
        query = Query(scope)
        after = query.integer("after", -1, minimum=-1)
        limit = query.integer("limit", 100, minimum=1, maximum=1000)
        if caller.type != "service":
            return 403, {"error": "the journal is for service callers: use a token with "
                                  "caller type service"}
        found = await self.system.journal(actor_type, actor_id, after=after, limit=limit)
        return 200, {"events": [e.to_json() for e in found],
                     "next": found[-1].seq if found else None}


class _Quarantine(_HTTP):
    """``GET``/``DELETE /{actor_type}/{actor_id}/quarantine``, for services: whether the actor
    is quarantined and why; lift its quarantine."""

    async def handle(self, scope: Any, receive: Any, actor_type: str,
                     actor_id: str) -> tuple[int, Any]:
        method = scope["method"]
        if method not in ("GET", "DELETE"):
            return 405, {"error": "Method not allowed"}
        caller = self._caller(scope, actor_type, actor_id)
        if caller.type != "service":
            return 403, {"error": "quarantines are for service callers: use a token with "
                                  "caller type service"}
        if method == "DELETE":
            try:
                seq = await self.system.release(actor_type, actor_id)
            except NotQuarantined as e:
                return 409, {"error": str(e)}
            return 200, {"quarantined": False, "seq": seq}
        info = await self.system.quarantine_of(actor_type, actor_id)
        return 200, {"quarantined": info is not None, **(info or {})}


def _unauthorized(e: AuthError) -> dict[str, str]:
    return {"error": f"Error: {e}. API requests must specify a valid caller in Bearer token "
                     f"(Authorization: Bearer <token>)"}


class _TooLarge(Exception):
    """A request body or WebSocket message over the server's ``max_body`` (HTTP 413, or
    WebSocket close 1009)."""

    def __init__(self, limit: int) -> None:
        self.message = (f"the message is over {limit:,} bytes, the most this server takes "
                        f"(ACTORKIT_MAX_BODY): send a smaller event")


async def _body(scope: Any, receive: Any, limit: int) -> bytes:
    """The request body, read as it arrives and no further than ``limit`` bytes
    (:class:`_TooLarge`): a Content-Length over it is refused before anything is read."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.isdigit() and int(value) > limit:
                raise _TooLarge(limit)
            break
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
