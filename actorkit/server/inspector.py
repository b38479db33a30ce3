"""The inspector: a page under ``/_inspect`` that shows a server's actors as they run.

The page (HTML, script and style shipped in ``actorkit/server/static``; nothing from a CDN)
reads what only an operator may see through the JSON routes here, each asking for an
inspector token: a service token for actor type ``_inspect`` and id ``inspector``. For what
every client sees it uses the actor routes themselves, with tokens these routes mint: the
WebSocket (as :data:`~actorkit.events.WATCHER`, which the chart never hears of) for live
frames, ``POST`` to send events, ``/events`` for the journal.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..actor import Actor
from ..auth import TokenVerifier, create_access_token
from ..chart import Chart
from ..errors import ActorkitError, AuthError, Quarantined
from ..events import WATCHER, Caller
from ..journal import ReplayError, replay, up_to
from ..runtime import ActorSystem, UnknownActorType
from ..store.base import Entry
from ..sync import diff
from .wire import check_path_id

__all__ = ["INSPECTOR_ACTOR", "INSPECTOR_TYPE", "PATH", "create_inspector", "enabled"]

#: Where the page is served, beside the actor routes' prefix.
PATH = "/_inspect"
#: The audience and id of an inspector token: ``actorkit token --type _inspect --id
#: inspector --caller service:<you>``.
INSPECTOR_TYPE = "_inspect"
INSPECTOR_ACTOR = "inspector"
#: The files of the page, by the name it asks for them with.
_STATIC = {"inspector.js": "text/javascript", "inspector.css": "text/css",
           "diagram.js": "text/javascript"}
#: How far a time travel replays, at most: a longer journal is travelled from the server's
#: own ``actorkit replay``.
MAX_TRAVEL = 5000


def enabled(*, development_secret: bool) -> bool:
    """Whether to serve the inspector: ``ACTORKIT_INSPECTOR`` (``1`` or ``0``) if set, else
    only when the server signs with the project's development secret."""
    raw = os.environ.get("ACTORKIT_INSPECTOR")
    if raw is None or raw == "":
        return development_secret
    if raw not in ("0", "1"):
        from .app import ServerConfigError

        raise ServerConfigError(f"ACTORKIT_INSPECTOR is 1 (serve the inspector page) or 0 "
                                f"(do not), not {raw!r}")
    return raw == "1"


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


def _static(name: str) -> bytes:
    return resources.files("actorkit.server").joinpath("static", name).read_bytes()


def create_inspector(system: ActorSystem, *, secret: str, api_prefix: str = "/api",
                     open_to_page: bool = False) -> APIRouter:
    """The inspector's routes (the page and its JSON) at :data:`PATH`, for the actor routes
    at ``api_prefix`` (relative to where the router is mounted). With ``open_to_page`` (the
    development secret) the page carries an inspector token; otherwise it asks for one."""
    tokens = TokenVerifier(secret)
    router = APIRouter()

    def guard(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Refused(401, "the inspector asks for an inspector token: make one with "
                                "`actorkit token --type _inspect --id inspector --caller "
                                "service:<you>` and paste it into the page")
        try:
            caller = tokens.verify(token.strip(), INSPECTOR_TYPE, INSPECTOR_ACTOR)
        except AuthError as e:
            raise _Refused(401, f"{e}: an inspector token is made with `actorkit token --type "
                                f"_inspect --id inspector --caller service:<you>`") from None
        if caller.type != "service":
            raise _Refused(403, "the inspector is for service callers: make the token with "
                                "--caller service:<you>")

    def chart_of(actor_type: str) -> Chart:
        try:
            return system.chart(actor_type)
        except UnknownActorType as e:
            raise _Refused(404, f"{e}: the served types are {', '.join(sorted(system.charts))}"
                           ) from None

    def answer(request: Request, work: Any) -> Any:
        async def run() -> Response:
            try:
                guard(request)
                return JSONResponse(await work())
            except _Refused as e:
                return JSONResponse({"error": e.message}, status_code=e.status)
            except ActorkitError as e:
                return JSONResponse({"error": str(e), "kind": type(e).__name__},
                                    status_code=409)
        return run()

    base = PATH

    @router.get(base, include_in_schema=False)
    async def page_no_slash(request: Request) -> Response:
        return RedirectResponse(request.url.path + "/" + ("?" + request.url.query
                                                           if request.url.query else ""))

    @router.get(base + "/", include_in_schema=False)
    async def page(request: Request) -> Response:
        mount = request.url.path[:-len(base + "/")]
        html = _static("inspector.html").decode()
        token = create_access_token(secret, INSPECTOR_ACTOR, INSPECTOR_TYPE, "inspector-page",
                                    "service", expires_in=12 * 3600) if open_to_page else ""
        html = html.replace("{{api}}", _attr(mount + api_prefix)).replace(
            "{{inspect}}", _attr(mount + base)).replace("{{token}}", _attr(token))
        return HTMLResponse(html, headers={"Cache-Control": "no-store",
                                           "Referrer-Policy": "no-referrer"})

    @router.get(base + "/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        kind = _STATIC.get(name)
        if kind is None:
            return JSONResponse({"error": f"no inspector file {name!r}"}, status_code=404)
        return Response(_static(name), media_type=kind)

    @router.get(base + "/api/types", include_in_schema=False)
    async def types(request: Request) -> Any:
        async def work() -> Any:
            return {"types": [_describe(chart) for _, chart in sorted(system.charts.items())]}
        return await answer(request, work)

    @router.get(base + "/api/actors/{actor_type}", include_in_schema=False)
    async def actors(request: Request, actor_type: str, after: str = "", q: str = "",
                     limit: int = 50) -> Any:
        async def work() -> Any:
            chart = chart_of(actor_type)
            store = system.store_for(chart)
            size = max(1, min(limit, 200))
            if not q:
                ids = await store.actor_ids(actor_type, after=after, limit=size + 1)
                return {"ids": ids[:size], "next": ids[size - 1] if len(ids) > size else None}
            # A search reads the ids in pages and keeps those holding ``q``: bounded, so a
            # huge store answers with where it stopped (``next``), never with a long wait.
            found: list[str] = []
            cursor, read, wanted = after, 0, q.lower()
            while len(found) < size and read < 20_000:
                page = await store.actor_ids(actor_type, after=cursor, limit=1000)
                read += len(page)
                for actor_id in page:
                    if wanted in actor_id.lower():
                        found.append(actor_id)
                    if len(found) == size:
                        return {"ids": found, "next": actor_id}
                if len(page) < 1000:
                    return {"ids": found, "next": None}
                cursor = page[-1]
            return {"ids": found, "next": cursor}
        return await answer(request, work)

    @router.get(base + "/api/actors/{actor_type}/{actor_id}", include_in_schema=False)
    async def actor(request: Request, actor_type: str, actor_id: str) -> Any:
        async def work() -> Any:
            chart = chart_of(actor_type)
            _check_id(request, actor_id)
            store = system.store_for(chart)
            stored = await store.load(actor_type, actor_id)
            if stored is None:
                raise _Refused(404, f"{actor_type}/{actor_id} is not stored: it is made when a "
                                    f"caller first sends it an event or reads it")
            snap = orjson.loads(stored.snapshot)
            context = snap.get("context") or {}
            quarantine = snap.get("quarantine") or await system.quarantine_of(actor_type,
                                                                               actor_id)
            connected = system.connected(actor_type, actor_id)
            return {"type": actor_type, "id": actor_id, "seq": snap["seq"],
                    "time": snap["time"], "value": snap["value"], "final": snap.get("final"),
                    "public": context.get("public", {}),
                    "internal": _internal(context),
                    "callers": _callers(snap, connected),
                    "connected": [c.to_json() for c in connected],
                    "timers": snap.get("timers") or [], "wakeup": snap.get("wakeup"),
                    "quarantine": quarantine, "journaled": chart.persisted}
        return await answer(request, work)

    @router.get(base + "/api/actors/{actor_type}/{actor_id}/view", include_in_schema=False)
    async def view(request: Request, actor_type: str, actor_id: str, caller: str) -> Any:
        async def work() -> Any:
            chart_of(actor_type)
            _check_id(request, actor_id)
            who = _caller(caller)
            try:
                cell = await system.cell(actor_type, actor_id, None)
            except Quarantined as e:
                raise _Refused(409, f"{e}") from None
            if cell is None:
                raise _Refused(404, f"{actor_type}/{actor_id} is not stored")
            # The view the server sends that caller, by the same code (checksum included).
            shown = cell.view(who)
            return {"caller": who.to_json(), "view": shown.data, "checksum": shown.checksum}
        return await answer(request, work)

    @router.get(base + "/api/actors/{actor_type}/{actor_id}/at", include_in_schema=False)
    async def at(request: Request, actor_type: str, actor_id: str, seq: int,
                 caller: str = "") -> Any:
        async def work() -> Any:
            chart = chart_of(actor_type)
            _check_id(request, actor_id)
            if not chart.persisted:
                raise _Refused(409, f"{actor_type} is not persisted, so it keeps no journal "
                                    f"to travel through")
            journal = await _journal_to(system, chart, actor_id, seq)
            if not journal or journal[-1].seq != seq:
                raise _Refused(404, f"{actor_type}/{actor_id} has no journal entry {seq}")
            try:
                after = replay(chart, actor_id, journal)
                earlier = journal[:-1]
                before = replay(chart, actor_id, earlier) \
                    if earlier and journal[-1].kind not in ("spawn", "migrate") else None
            except ReplayError as e:
                raise _Refused(409, f"{e}") from None
            now, then = _state(after), _state(before) if before is not None else None
            who = _caller(caller) if caller else None
            return {"seq": seq, "entry": journal[-1].to_json(), **now,
                    "view": after.view(who) if who is not None else None,
                    "changes": diff(then, now) if then is not None else None}
        return await answer(request, work)

    @router.post(base + "/api/actors/{actor_type}/{actor_id}/token", include_in_schema=False)
    async def token(request: Request, actor_type: str, actor_id: str) -> Any:
        async def work() -> Any:
            chart_of(actor_type)
            _check_id(request, actor_id)
            try:
                body = orjson.loads(await request.body())
                who = _caller(body["caller"]) if isinstance(body, dict) else None
            except (orjson.JSONDecodeError, KeyError):
                who = None
            if who is None:
                raise _Refused(400, 'send {"caller": "client:<id>"} or "service:<id>"')
            return {"token": create_access_token(secret, actor_id, actor_type, who.id,
                                                 who.type, expires_in=3600),
                    "watcher": who == WATCHER}
        return await answer(request, work)

    return router


def _attr(text: str) -> str:
    """``text`` safe inside an HTML attribute value."""
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def _check_id(request: Request, actor_id: str) -> None:
    try:
        check_path_id(request.scope, actor_id)
    except ActorkitError as e:
        raise _Refused(400, str(e)) from None


def _caller(text: str) -> Caller:
    try:
        who = Caller.parse(text)
    except ValueError:
        who = None
    if who is None or who.type == "system":  # the runtime's own caller is not looked through
        raise _Refused(400, f"a caller is client:<id> or service:<id>, not {text[:60]!r}")
    return who


def _callers(snap: dict[str, Any], connected: list[Caller]) -> list[str]:
    """Who there is to look through the eyes of: the actor's first caller, every caller with
    a private bucket (their type unknown: shown as clients), everyone connected."""
    seen: dict[str, None] = {}
    first = snap.get("initialCaller") or {}
    if first.get("type") in ("client", "service"):
        seen[f"{first['type']}:{first['id']}"] = None
    for c in connected:
        seen[f"{c.type}:{c.id}"] = None
    known = {key.partition(":")[2] for key in seen}
    for ident in sorted((snap.get("context") or {}).get("private") or {}):
        if ident not in known:
            seen[f"client:{ident}"] = None
    return list(seen)


def _state(actor: Actor) -> dict[str, Any]:
    context = actor.context
    return {"value": actor.value, "public": context.get("public", {}),
            "private": dict(context.get("private") or {}),
            "internal": _internal(context), "timers": actor.timers}


def _internal(context: dict[str, Any]) -> dict[str, Any]:
    """The keys of a context that are neither public nor private: what no caller sees."""
    return {k: v for k, v in context.items() if k not in ("public", "private")}


async def _journal_to(system: ActorSystem, chart: Chart, actor_id: str,
                      seq: int) -> list[Entry]:
    """The actor's journal up to and including step ``seq``, if that is not too far in."""
    journal = await up_to(system.store_for(chart), chart.actor_type, actor_id, seq,
                          most=MAX_TRAVEL)
    if len(journal) >= MAX_TRAVEL and journal[-1].seq != seq:
        raise _Refused(409, f"step {seq} is more than {MAX_TRAVEL} entries in: see it with "
                            f"`actorkit replay {chart.actor_type} {actor_id} --to {seq}`")
    return journal


def _describe(chart: Chart) -> dict[str, Any]:
    """A chart for the page: its diagram model and the events each caller type may send."""
    from ..graph import graph

    events = {kind: {name: v.schema for name, v in sorted(chart.schemas.events_for(kind).items())}
              for kind in ("client", "service")}
    return {"type": chart.actor_type, "persisted": chart.persisted, "graph": graph(chart),
            "events": events}
