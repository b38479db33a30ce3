"""create_app's settings from the environment: where the store is, how durable, when idle
actors leave memory, and the clear error for each bad value; and its dispatch of the actor
routes ahead of FastAPI's middleware stack, which must change nothing a user can see."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from starlette.routing import Match
from support import ROOT

from actorkit.auth import create_access_token
from actorkit.server import create_app
from actorkit.server.app import TOKEN_FREE_LOGGERS, ServerConfigError
from actorkit.server.router import ActorRoutes
from actorkit.store import MemoryStore, SqliteStore, StoreError

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("ACTORKIT_DURABILITY", "ACTORKIT_IDLE_AFTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACTORKIT_DB", str(tmp_path / "here.db"))


def system(**options):
    return create_app(ROOT, secret=SECRET, **options).state.system


def test_the_store_is_sqlite_where_actorkit_db_says(tmp_path):
    store = system().store
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "here.db"
    assert store.durability == "process"


def test_power_durability(monkeypatch):
    monkeypatch.setenv("ACTORKIT_DURABILITY", "power")
    assert system().store.durability == "power"


def test_a_bad_durability_is_refused(monkeypatch):
    monkeypatch.setenv("ACTORKIT_DURABILITY", "max")
    with pytest.raises(StoreError, match="ACTORKIT_DURABILITY is 'process' or 'power'"):
        system()


@pytest.mark.parametrize(("env", "given", "idle_after"), [
    (None, None, 300.0), ("60", None, 60.0), ("inf", None, None), ("60", 5.0, 5.0),
    (None, float("inf"), None)])
def test_idle_actors_leave_memory_after(monkeypatch, env, given, idle_after):
    if env is not None:
        monkeypatch.setenv("ACTORKIT_IDLE_AFTER", env)
    assert system(idle_after=given).idle_after == idle_after


@pytest.mark.parametrize("env", ["0", "-5", "soon", "nan"])
def test_a_bad_idle_after_is_refused(monkeypatch, env):
    monkeypatch.setenv("ACTORKIT_IDLE_AFTER", env)
    with pytest.raises(ServerConfigError, match="ACTORKIT_IDLE_AFTER is a number of seconds"):
        system()


# -- tokens never reach a log ------------------------------------------------------------------

JWT = create_access_token(SECRET, "list-1", "todo", "alice", "client")


@pytest.mark.parametrize(("logger", "message", "args", "logged"), [
    ("uvicorn.access", '%s - "%s %s HTTP/%s" %d',
     ("127.0.0.1:5", "GET", f"/api/todo/list-1?accessToken={JWT}&checksum=ab", "1.1", 401),
     '127.0.0.1:5 - "GET /api/todo/list-1?accessToken=[redacted]&checksum=ab HTTP/1.1" 401'),
    ("uvicorn.error", '%s - "WebSocket %s" [accepted]',
     ("127.0.0.1:5", f"/api/todo/list-1?checksum=ab&accessToken={JWT}"),
     '127.0.0.1:5 - "WebSocket /api/todo/list-1?checksum=ab&accessToken=[redacted]" '
     '[accepted]'),
    ("uvicorn.error", '%s - "WebSocket %s" %d',
     ("127.0.0.1:5", "/api/todo/list-1?accessToken=not-even-a-jwt", 401),
     '127.0.0.1:5 - "WebSocket /api/todo/list-1?accessToken=[redacted]" 401'),
    ("uvicorn.error", '%s - "WebSocket %s" %d',
     ("127.0.0.1:5", "/parties/todo/list-1?_pk=c1&token=not-even-a-jwt", 401),
     '127.0.0.1:5 - "WebSocket /parties/todo/list-1?_pk=c1&token=[redacted]" 401'),
    ("actorkit", f"a token in a message of ours: {JWT}, and in a path: /api/todo/{JWT}", (),
     "a token in a message of ours: [redacted], and in a path: /api/todo/[redacted]"),
    ("actorkit.server", "%s, past the limit", (f"GET /api/todo/list-1?accessToken={JWT}",),
     "GET /api/todo/list-1?accessToken=[redacted], past the limit"),
])
def test_the_logs_of_uvicorn_and_actorkit_print_no_token(caplog, logger, message, args,
                                                          logged):
    system()  # create_app filters the loggers
    with caplog.at_level(logging.INFO, logger=logger):
        logging.getLogger(logger).info(message, *args)
    assert [r.getMessage() for r in caplog.records] == [logged]


def test_a_token_in_a_logged_exception_is_redacted_too(caplog):
    system()
    with caplog.at_level(logging.INFO, logger="actorkit"):
        try:
            raise ValueError(f"GET /api/todo/list-1?accessToken={JWT}")
        except ValueError:
            logging.getLogger("actorkit").exception("failed")
    assert "ValueError: GET /api/todo/list-1?accessToken=[redacted]" in caplog.text
    assert JWT.split(".")[2] not in caplog.text


def test_every_logger_of_actorkit_is_filtered_once():
    for _ in range(3):
        system()
    used = {m[1] for path in (ROOT / "actorkit").rglob("*.py")
            for m in re.finditer(r"getLogger\(\"([\w.]+)\"\)", path.read_text())}
    assert used - {"uvicorn.error"} <= set(TOKEN_FREE_LOGGERS)
    for name in TOKEN_FREE_LOGGERS:
        kinds = [type(f) for f in logging.getLogger(name).filters]
        assert kinds and len(kinds) == len(set(kinds))


# -- the actor routes, dispatched ahead of FastAPI's middleware stack ---------------------------

def _scope(kind: str, method: str, path: str) -> dict:
    scope = {"type": kind, "path": path, "root_path": "", "headers": [], "query_string": b""}
    if kind == "http":
        scope["method"] = method
    return scope


@functools.cache
def actor_routes(prefix: str) -> tuple[ActorRoutes, list]:
    routes = ActorRoutes(system(store=MemoryStore()), secret=SECRET, prefix=prefix)
    return routes, routes.router().routes


segment = st.sampled_from(["todo", "x", "events", "", "a b", "%2F", "list-1"])


@settings(max_examples=400, deadline=None)
@given(prefix=st.sampled_from(["", "/api", "/v1/actors"]),
       kind=st.sampled_from(["http", "websocket"]),
       method=st.sampled_from(["GET", "POST", "PUT", "HEAD", "OPTIONS"]),
       parts=st.lists(segment, min_size=0, max_size=4), trailing=st.booleans())
def test_direct_dispatch_picks_what_the_route_table_picks(prefix, kind, method, parts,
                                                          trailing):
    routes, table_routes = actor_routes(prefix)
    path = prefix + "/" + "/".join(parts) + ("/" if trailing else "")
    direct = _scope(kind, method, path)
    endpoint = routes.match(direct)
    table = _scope(kind, method, path)
    found = [(r, child) for r in table_routes
             for match, child in [r.matches(table)] if match == Match.FULL]
    if endpoint is None:
        # left to the stack: nothing of ours matches it, or Starlette answers it (405)
        assert not found or method not in ("GET", "POST")
        return
    assert len(found) == 1
    route, child = found[0]
    assert route.app is endpoint or getattr(route, "endpoint", None) is endpoint
    assert direct["path_params"] == child["path_params"]


def fetch(app, path: str, token: str, times: int = 2) -> list[httpx.Response]:
    """GET ``path`` from ``app`` in process ``times`` times (the first call also builds the
    app's middleware stack), its lifespan (start, close) around them."""
    async def go() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return [await client.get(path, params={"input": "{}"},
                                         headers={"Authorization": f"Bearer {token}"})
                        for _ in range(times)]
    return asyncio.run(go())


TOKEN = create_access_token(SECRET, "list-1", "todo", "alice", "client")


def test_user_middleware_still_sees_actor_requests():
    app = create_app(ROOT, secret=SECRET, store=MemoryStore())
    seen: list[str] = []

    @app.middleware("http")
    async def note(request, call_next):
        seen.append(request.url.path)
        response = await call_next(request)
        response.headers["x-seen"] = "yes"
        return response

    answers = fetch(app, "/api/todo/list-1", TOKEN)
    assert [(a.status_code, a.headers.get("x-seen")) for a in answers] == [(200, "yes")] * 2
    assert seen == ["/api/todo/list-1"] * 2


def test_an_error_handler_given_to_the_app_still_covers_actor_requests():
    from fastapi.responses import JSONResponse

    async def teapot(request, exc):
        return JSONResponse({"handled": True}, status_code=418)

    app = create_app(ROOT, secret=SECRET, store=MemoryStore(),
                     exception_handlers={RuntimeError: teapot})
    system = app.state.system

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")
    system.snapshot = broken  # the endpoint lets it through: the user's handler answers
    assert [a.status_code for a in fetch(app, "/api/todo/list-1", TOKEN)] == [418, 418]


class _Tracer(trace.NoOpTracer):
    def __init__(self, spans: list) -> None:
        self.spans = spans

    def start_span(self, name, *args, attributes=None, **kwargs):
        self.spans.append((name, dict(attributes or {})))
        return super().start_span(name, *args, attributes=attributes, **kwargs)


class _Provider(trace.TracerProvider):
    def __init__(self) -> None:
        self.spans: list = []

    def get_tracer(self, *args, **kwargs):
        return _Tracer(self.spans)


@pytest.mark.skipif("telemetry" not in inspect.signature(FastAPI).parameters,
                    reason="this FastAPI has no built-in telemetry")
def test_fastapi_telemetry_still_traces_actor_requests():
    provider = _Provider()
    app = create_app(ROOT, secret=SECRET, store=MemoryStore(),
                     telemetry={"tracer_provider": provider, "metrics": False, "logs": False})
    assert [a.status_code for a in fetch(app, "/api/todo/list-1", TOKEN)] == [200, 200]
    assert [attributes.get("url.path") for _, attributes in provider.spans] == \
        ["/api/todo/list-1"] * 2
