"""The server, run for real (uvicorn on 127.0.0.1): routes, status codes, tokens, waits,
and the WebSocket protocol Actor Kit's clients speak."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
import websockets
from servers import SECRET, Server, serve
from support import ROOT
from websockets.exceptions import InvalidStatus

from actorkit.sync import apply_patch, canonical, checksum

TESTS = ROOT / "tests"


@pytest.fixture(scope="module")
def server():
    with serve(ROOT) as running:
        yield running


@pytest.fixture(scope="module")
def tests_server():
    with serve(TESTS) as running:
        yield running


def get(server: Server, actor: str, caller: str = "client:alice", **params: Any):
    kind, actor_id = actor.split("/")
    token = server.token(kind, actor_id, caller)
    return httpx.get(f"{server.url}/api/{actor}", params=params,
                     headers={"Authorization": f"Bearer {token}"})


def post(server: Server, actor: str, event: Any, caller: str = "client:alice", **params: Any):
    kind, actor_id = actor.split("/")
    token = server.token(kind, actor_id, caller)
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return httpx.post(f"{server.url}/api/{actor}", content=body, params=params,
                      headers={"Authorization": f"Bearer {token}"})


def ws_url(server: Server, actor: str, caller: str = "client:alice", **params: str) -> str:
    kind, actor_id = actor.split("/")
    query = urlencode({"accessToken": server.token(kind, actor_id, caller), **params})
    return f"{server.ws}/api/{actor}?{query}"


def view_checksum(view: dict) -> str:
    return checksum(canonical(view))


# -- HTTP ------------------------------------------------------------------------------------

def test_get_spawns_on_first_touch_and_returns_the_callers_view(server):
    r = get(server, "todo/get-1")
    assert r.status_code == 200
    body = r.json()
    assert body["snapshot"] == {"public": {"todos": [], "lastSync": None},
                                "private": {"filter": "all"},
                                "value": {"Initialization": "Ready", "TodoList": {}}}
    assert body["checksum"] == view_checksum(body["snapshot"])
    assert r.headers["content-type"] == "application/json"


def test_post_answers_after_the_commit_with_the_new_checksum(server):
    r = post(server, "todo/post-1", {"type": "ADD_TODO", "text": "milk"})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["seq"] == 1
    assert body["outputs"][0]["type"] == "TODO_ADDED"
    after = get(server, "todo/post-1").json()
    assert after["checksum"] == body["checksum"]
    assert [t["text"] for t in after["snapshot"]["public"]["todos"]] == ["milk"]


@pytest.mark.parametrize(("event", "status", "words"), [
    ({"type": "ADD_TODO", "text": ""}, 400, "should be non-empty"),
    ({"type": "ADD_TODO", "text": "x", "extra": 1}, 400, "Additional properties"),
    ({"type": "SYNC_TODOS", "todos": []}, 400, "service-only event"),
    ({"type": "ADD_TODO", "text": "x", "caller": {"type": "service", "id": "x"}}, 400,
     "access token"),
    ({"text": "x"}, 400, "no `type`"),
    (b"{not json", 400, "must be a JSON event"),
    ({"type": "CONNECT"}, 400, "system event"),
])
def test_post_checks_events_against_the_callers_schema(server, event, status, words):
    before = get(server, "todo/post-bad").json()
    r = post(server, "todo/post-bad", event)
    assert r.status_code == status
    assert words in r.json()["error"]
    assert get(server, "todo/post-bad").json() == before


def padded(size: int) -> bytes:
    """An ADD_TODO of exactly ``size`` bytes (its text is padded with spaces after it)."""
    event = b'{"type": "ADD_TODO", "text": "milk"}'
    return event + b" " * (size - len(event))


def test_a_body_over_max_body_is_refused_with_413_and_one_at_it_is_not(server):
    limit = 1024 * 1024  # ACTORKIT_MAX_BODY's default
    assert post(server, "todo/body-1", padded(limit)).status_code == 200
    r = post(server, "todo/body-1", padded(limit + 1))
    assert r.status_code == 413 and r.headers["connection"] == "close"
    assert "over 1,048,576 bytes" in r.json()["error"] and "ACTORKIT_MAX_BODY" in r.json()["error"]

    def chunks():  # no Content-Length: read until the limit, then refused
        for _ in range(40):
            yield b" " * 65536

    kind, actor_id = "todo", "body-1"
    r = httpx.post(f"{server.url}/api/todo/body-1", content=chunks(),
                   headers={"Authorization": f"Bearer {server.token(kind, actor_id, 'client:a')}"})
    assert r.status_code == 413
    assert len(get(server, "todo/body-1").json()["snapshot"]["public"]["todos"]) == 1


def test_post_pointer_names_the_bad_field(server):
    r = post(server, "todo/post-ptr", {"type": "TOGGLE_TODO", "id": 7})
    assert r.json()["pointer"] == "/id"


def test_a_service_sends_service_events(server):
    todos = [{"id": "a", "text": "from the service", "completed": True}]
    assert post(server, "todo/svc-1", {"type": "SYNC_TODOS", "todos": todos},
                caller="service:sync").status_code == 200
    assert get(server, "todo/svc-1").json()["snapshot"]["public"]["todos"] == todos


def test_a_failing_hook_is_an_error_and_changes_nothing(tests_server):
    assert post(tests_server, "txn/boom-1", {"type": "INC"}).status_code == 200
    before = get(tests_server, "txn/boom-1").json()
    r = post(tests_server, "txn/boom-1", {"type": "BOOM"})
    assert r.status_code == 500
    body = r.json()
    assert (body["kind"], body["hook"], body["type"]) == ("HookError", "boom", "BOOM")
    assert "kaboom" not in body["error"]  # not in development: a reference, not the details
    assert f"(reference {body['ref']})" in body["error"]
    assert get(tests_server, "txn/boom-1").json() == before
    # and the server's log says why, under that reference, for whoever runs it
    assert f"POST txn/boom-1 failed (reference {body['ref']}): HookError: hook `boom` " \
           f"(action of transition idle on BOOM) raised RuntimeError: kaboom" \
        in tests_server.read_log()


def test_input_is_checked_at_first_touch_only(tests_server):
    r = get(tests_server, "room/in-1", input=json.dumps({"topic": ""}))
    assert r.status_code == 400 and "Invalid input" in r.json()["error"]
    r = get(tests_server, "room/in-1")
    assert r.status_code == 400 and "'topic' is a required property" in r.json()["error"]
    r = get(tests_server, "room/in-1", input=json.dumps({"topic": "rust"}), caller="client:bob")
    public = r.json()["snapshot"]["public"]
    assert (public["topic"], public["owner"]) == ("rust", "bob")  # first caller is the owner
    later = get(tests_server, "room/in-1", input=json.dumps({"topic": "other"}))
    assert later.json()["snapshot"]["public"]["topic"] == "rust"
    assert get(tests_server, "room/in-2", input="{oops").status_code == 400


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/nope/x", 400),
    ("DELETE", "/api/todo/x", 405),
    ("PUT", "/api/todo/x", 405),
    ("GET", "/api/todo", 404),
    ("GET", "/api/todo/x/y", 404),
])
def test_status_codes_as_actor_kit(server, method, path, status):
    token = server.token("todo", "x", "client:alice")
    r = httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == status
    if status == 400:
        assert r.json() == {"error": "Unknown actor type: nope"}
    if status == 405:
        assert r.json() == {"error": "Method not allowed"}


# -- waits -----------------------------------------------------------------------------------

def test_a_wait_already_satisfied_returns_at_once(server):
    start = time.monotonic()
    r = get(server, "todo/wait-1", waitForState=json.dumps({"Initialization": "Ready"}),
            timeout="3000")
    assert r.status_code == 200
    assert time.monotonic() - start < 2


def test_a_wait_times_out_with_408_or_returns_the_view(server):
    r = get(server, "todo/wait-2", waitForState='"Nowhere"', timeout="200")
    assert r.status_code == 408
    assert r.json() == {"error": "Timeout waiting for event or state"}
    r = get(server, "todo/wait-2", waitForState='"Nowhere"', timeout="200",
            errorOnWaitTimeout="false")
    assert r.status_code == 200 and "snapshot" in r.json()


def test_wait_for_event_matches_the_event_for_real(server):
    results: dict[str, Any] = {}

    def waiter() -> None:
        results["r"] = get(server, "todo/wait-3", waitForEvent=json.dumps(
            {"type": "ADD_TODO", "text": "the one"}), timeout="5000")

    get(server, "todo/wait-3")
    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)
    post(server, "todo/wait-3", {"type": "ADD_TODO", "text": "not this one"})
    time.sleep(0.3)
    assert "r" not in results
    post(server, "todo/wait-3", {"type": "ADD_TODO", "text": "the one"})
    thread.join(5)
    r = results["r"]
    assert r.status_code == 200
    assert [t["text"] for t in r.json()["snapshot"]["public"]["todos"]] == [
        "not this one", "the one"]


@pytest.mark.parametrize("params", [
    {"timeout": "0"}, {"timeout": "-5"}, {"timeout": "soon"}, {"errorOnWaitTimeout": "maybe"},
    {"waitForEvent": "{bad"}, {"waitForEvent": '"ADD_TODO"'}, {"waitForState": "[1]"},
])
def test_bad_wait_parameters_are_400(server, params):
    assert get(server, "todo/wait-bad", **params).status_code == 400


# -- tokens ----------------------------------------------------------------------------------

def bad_tokens(actor_id: str) -> dict[str, str]:
    now = time.time()

    def make(key: str = SECRET, alg: str = "HS256", **claims: Any) -> str:
        body = {"jti": actor_id, "sub": "client-alice", "aud": "todo", "exp": now + 60}
        body.update(claims)
        return jwt.encode({k: v for k, v in body.items() if v is not None},
                          key if alg != "none" else None, algorithm=alg)

    return {
        "wrong key": make(key="y" * 48),
        "alg none": make(alg="none"),
        "expired": make(exp=now - 10),
        "wrong aud": make(aud="auction"),
        "wrong jti": make(jti="someone-else"),
        "malformed sub": make(sub="root"),
        "system sub": make(sub=f"system-{actor_id}"),
        "no exp": make(exp=None),
        "missing": "",
    }


@pytest.mark.parametrize("case", list(bad_tokens("x")))
def test_every_token_problem_is_401_everywhere_and_touches_nothing(server, case):
    actor_id = f"tok-{case.replace(' ', '-')}"
    token = bad_tokens(actor_id)[case]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{server.url}/api/todo/{actor_id}"
    assert httpx.get(url, headers=headers).status_code == 401
    r = httpx.post(url, headers=headers, json={"type": "ADD_TODO", "text": "x"})
    assert r.status_code == 401
    assert "API requests must specify a valid caller" in r.json()["error"]

    async def ws() -> int:
        with pytest.raises(InvalidStatus) as info:
            async with websockets.connect(f"{server.ws}/api/todo/{actor_id}?accessToken={token}"):
                pass
        return info.value.response.status_code

    assert asyncio.run(ws()) == 401
    # nothing was spawned: the first valid caller becomes the actor's initial caller
    first = post(server, f"todo/{actor_id}", {"type": "ADD_TODO", "text": "ok"},
                 caller="client:bob")
    assert first.json()["seq"] == 1


# -- WebSocket -------------------------------------------------------------------------------

async def recv(ws: Any, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def quiet(ws: Any, seconds: float = 0.4) -> bool:
    """True when nothing arrives for ``seconds``."""
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return True
    return False


def test_ws_sends_the_view_then_one_frame_per_change(server):
    async def run() -> None:
        async with websockets.connect(ws_url(server, "todo/ws-1")) as ws:
            first = await recv(ws)
            assert [op["path"] for op in first["operations"]] == ["/public", "/private", "/value"]
            view = apply_patch({}, first["operations"])
            assert view_checksum(view) == first["checksum"]
            await ws.send(json.dumps({"type": "ADD_TODO", "text": "eggs"}))
            frame = await recv(ws)
            assert frame["operations"][0]["op"] == "add"
            assert frame["operations"][0]["path"] == "/public/todos/0"
            view = apply_patch(view, frame["operations"])
            assert view_checksum(view) == frame["checksum"]
            assert get(server, "todo/ws-1").json()["snapshot"] == view

    asyncio.run(run())


def test_ws_reconnect_with_checksum_gets_nothing_a_diff_or_the_view(server):
    async def run() -> None:
        body = get(server, "todo/ws-2").json()
        async with websockets.connect(ws_url(server, "todo/ws-2",
                                             checksum=body["checksum"])) as ws:
            assert await quiet(ws)  # current checksum: nothing to send
        post(server, "todo/ws-2", {"type": "ADD_TODO", "text": "missed"})
        async with websockets.connect(ws_url(server, "todo/ws-2",
                                             checksum=body["checksum"])) as ws:
            frame = await recv(ws)  # a known older checksum: just the difference
            assert [op["path"] for op in frame["operations"]] == ["/public/todos/0"]
            view = apply_patch(body["snapshot"], frame["operations"])
            assert view_checksum(view) == frame["checksum"]
        async with websockets.connect(ws_url(server, "todo/ws-2", checksum="f" * 64)) as ws:
            frame = await recv(ws)  # unknown checksum: the whole view
            assert [op["path"] for op in frame["operations"]] == [
                "/public", "/private", "/value"]

    asyncio.run(run())


def test_a_change_to_another_callers_bucket_sends_nothing(server):
    async def run() -> None:
        async with websockets.connect(ws_url(server, "todo/ws-3", "client:alice")) as alice, \
                websockets.connect(ws_url(server, "todo/ws-3", "client:bob")) as bob:
            await recv(alice)
            await recv(bob)
            await bob.send(json.dumps({"type": "SET_FILTER", "filter": "completed"}))
            frame = await recv(bob)
            assert frame["operations"] == [
                {"op": "replace", "path": "/private/filter", "value": "completed"}]
            assert await quiet(alice)

    asyncio.run(run())


def test_a_bad_frame_gets_an_error_frame_and_the_connection_lives_on(server):
    async def run() -> None:
        async with websockets.connect(ws_url(server, "todo/ws-4")) as ws:
            first = await recv(ws)
            for bad, words in [("{nope", "not JSON"), ('{"type": "NOPE"}', "unknown event"),
                               ('{"type": "ADD_TODO"}', "'text' is a required property")]:
                await ws.send(bad)
                frame = await recv(ws)
                assert frame["operations"] == []  # Actor Kit's client applies it as a no-op
                assert frame["checksum"] == first["checksum"]
                assert words in frame["error"]["message"]
            await ws.send(json.dumps({"type": "ADD_TODO", "text": "still here"}))
            assert (await recv(ws))["operations"][0]["value"]["text"] == "still here"

    asyncio.run(run())


def test_ws_a_message_over_max_body_closes_the_socket_with_1009(server):
    # uvicorn's own limit is 16 MiB here: the endpoint holds to ACTORKIT_MAX_BODY itself.
    async def run() -> None:
        async with websockets.connect(ws_url(server, "todo/ws-big"), max_size=None) as ws:
            await recv(ws)  # the view
            await ws.send(padded(1024 * 1024).decode())  # at the limit: taken
            assert (await recv(ws))["operations"][0]["value"]["text"] == "milk"
            await ws.send(padded(1024 * 1024 + 1).decode())
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv(ws)
            assert closed.value.rcvd.code == 1009

    asyncio.run(run())


def test_ws_services_use_the_service_schema(server):
    async def run() -> None:
        async with websockets.connect(ws_url(server, "todo/ws-5", "service:sync")) as ws:
            await recv(ws)
            todos = [{"id": "s", "text": "synced", "completed": False}]
            await ws.send(json.dumps({"type": "SYNC_TODOS", "todos": todos}))
            frame = await recv(ws)
            assert apply_patch({"public": {"todos": []}}, [
                op for op in frame["operations"] if op["path"].startswith("/public/todos")
            ])["public"]["todos"] == todos

    asyncio.run(run())


def test_a_burst_on_one_socket_does_not_hold_up_other_requests(server):
    burst = 500

    async def run() -> None:
        async with websockets.connect(ws_url(server, "todo/ws-burst")) as ws:
            view = apply_patch({}, (await recv(ws))["operations"])
            for i in range(burst):  # they reach the server together, and queue up there
                await ws.send(json.dumps({"type": "ADD_TODO", "text": f"b{i}"}))
            started = time.monotonic()
            # answered between two of the socket's events, not after the whole burst
            seen = len(get(server, "todo/ws-burst").json()["snapshot"]["public"]["todos"])
            assert seen < burst, f"the GET waited {time.monotonic() - started:.2f}s"
            for _ in range(burst):  # and the burst runs to its end, in order
                frame = await recv(ws)
                assert "error" not in frame
                view = apply_patch(view, frame["operations"])
            assert [t["text"] for t in view["public"]["todos"]] == [
                f"b{i}" for i in range(burst)]

    asyncio.run(run())


def test_connect_and_disconnect_follow_a_callers_first_and_last_socket(tests_server):
    topic = json.dumps({"topic": "t"})

    def online() -> list[str]:
        return get(tests_server, "room/live-1", input=topic).json()["snapshot"]["public"]["online"]

    async def run() -> None:
        assert online() == []
        url = ws_url(tests_server, "room/live-1", "client:carol", input=topic)
        async with websockets.connect(url) as one:
            await recv(one)
            assert online() == ["carol"]
            async with websockets.connect(url) as two:
                await recv(two)
                assert online() == ["carol"]  # a second tab is not a second arrival
            await asyncio.sleep(0.3)
            assert online() == ["carol"]
        for _ in range(50):
            if online() == []:
                break
            await asyncio.sleep(0.05)
        assert online() == []

    asyncio.run(run())


def test_timers_fire_on_their_own_and_reach_the_sockets(tests_server):
    async def run() -> None:
        async with websockets.connect(ws_url(tests_server, "timers/ws-t")) as ws:
            view = apply_patch({}, (await recv(ws))["operations"])
            await ws.send(json.dumps({"type": "REMIND", "in": 0.3}))
            view = apply_patch(view, (await recv(ws))["operations"])  # the reminder id
            started = time.monotonic()
            frame = await recv(ws, timeout=5)
            view = apply_patch(view, frame["operations"])
            assert view["public"]["fired"][0][0] == "REMINDER"
            assert 0.2 < time.monotonic() - started < 3

    asyncio.run(run())
