"""Inputs a server refuses, sent to a real ``actorkit serve`` on 127.0.0.1 the way an
attacker or a buggy client would: actor ids that are not allowed, WebSocket frames that are
not JSON text, duplicate keys, query parameters out of bounds or given twice, and a WebSocket
that outlives its token. Each refusal says what to send instead and leaves nothing behind."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import jwt
import pytest
import websockets
from servers import SECRET, Server, serve
from support import ROOT
from websockets.exceptions import ConnectionClosed, InvalidStatus

ID_RULE = "an actor id is 1 to 256 bytes of UTF-8"


@pytest.fixture(scope="module")
def server():
    with serve(ROOT, cli=[]) as running:
        yield running


def mint(actor_type: str, actor_id: str, caller: str = "client:alice",
         ttl: float = 3600.0) -> str:
    """A token signed with the server's secret for any id at all: ``create_access_token``
    itself refuses ids the server refuses, and these tests send such ids on purpose."""
    kind, _, ident = caller.partition(":")
    claims = {"jti": actor_id, "aud": actor_type, "sub": f"{kind}-{ident}",
              "exp": int(time.time() + ttl)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def call(server: Server, method: str, path: str, token: str | None = None,
         body: bytes | None = None) -> tuple[int, Any]:
    """One request with ``path`` sent exactly as written (its %-escapes untouched)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data.decode(errors="replace")


def todos(server: Server, actor_id: str, caller: str = "client:alice") -> list[dict]:
    status, body = call(server, "GET", f"/api/todo/{quote(actor_id, safe='')}",
                        mint("todo", actor_id, caller))
    assert status == 200, body
    return body["snapshot"]["public"]["todos"]  # type: ignore[no-any-return]


def socket_url(server: Server, actor_id: str, token: str | None = None, **params: str) -> str:
    query = urlencode({"accessToken": token or mint("todo", actor_id), **params})
    return f"{server.ws}/api/todo/{quote(actor_id, safe='')}?{query}"


def ws_refusal(url: str) -> tuple[int, str]:
    """The HTTP status and body a WebSocket handshake to ``url`` is refused with."""
    async def go() -> tuple[int, str]:
        with pytest.raises(InvalidStatus) as info:
            async with websockets.connect(url, open_timeout=10):
                pass
        response = info.value.response
        return response.status_code, response.body.decode(errors="replace")

    return asyncio.run(go())


async def recv(ws: Any, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


# -- actor ids -------------------------------------------------------------------------------

#: (the id the old server saw once it decoded the path, the path segment as sent, the words)
BAD_IDS = [
    ("a\x00b", "a%00b", "U+0000"),
    ("a\r\nb", "a%0D%0Ab", "U+000D"),
    ("tab\there", "tab%09here", "U+0009"),
    ("del\x7f", "del%7F", "U+007F"),
    ("c1\x85", "c1%C2%85", "U+0085"),
    ("line\u2028break", "line%E2%80%A8break", "U+2028"),
    ("\ufffd", "%FF", "not UTF-8"),
    ("\ufffd", "%FE", "not UTF-8"),
    ("x\ufffd", "x%C3", "not UTF-8"),
    ("y" * 300, "y" * 300, "longer than 256 bytes"),
    ("é" * 129, "%C3%A9" * 129, "longer than 256 bytes"),  # 129 characters, 258 bytes
]


@pytest.mark.parametrize(("actor_id", "segment", "words"), BAD_IDS)
def test_an_id_that_is_not_allowed_is_refused_everywhere_and_creates_nothing(
        server, actor_id, segment, words):
    token = mint("todo", actor_id)
    service = mint("todo", actor_id, "service:ops")
    answers = {
        "GET": call(server, "GET", f"/api/todo/{segment}", token),
        "POST": call(server, "POST", f"/api/todo/{segment}", token,
                     b'{"type": "ADD_TODO", "text": "milk"}'),
        "journal": call(server, "GET", f"/api/todo/{segment}/events", service),
        "WebSocket": ws_refusal(f"{server.ws}/api/todo/{segment}?accessToken={token}"),
    }
    for route, (status, body) in answers.items():
        assert status == 400, (route, body)
        assert words in str(body) and ID_RULE in str(body), (route, body)


def test_ff_and_fe_no_longer_reach_one_actor(server):
    # Both decode to U+FFFD when the bytes that are not UTF-8 are replaced.
    status, _ = call(server, "POST", "/api/todo/%FE", mint("todo", "\ufffd"),
                     b'{"type": "ADD_TODO", "text": "meant for %FE"}')
    assert status == 400
    status, body = call(server, "GET", "/api/todo/%FF", mint("todo", "\ufffd"))
    assert status == 400 and "not UTF-8" in body["error"]
    # U+FFFD itself, sent as the UTF-8 it is, is an ordinary id, which nothing reached
    assert "meant for %FE" not in [t["text"] for t in todos(server, "\ufffd")]


def test_a_10000_character_id_is_refused_before_its_token_is_read(server):
    status, body = call(server, "GET", "/api/todo/" + "x" * 10_000)
    assert status == 400, body
    assert "longer than 256 bytes" in body["error"] and ID_RULE in body["error"]
    # A WebSocket handshake this long is refused by the WebSocket layer itself (URI too
    # long); shorter ones that still break the rule get the 400 (see BAD_IDS).
    status, _ = ws_refusal(f"{server.ws}/api/todo/{'x' * 10_000}")
    assert status in (400, 414)


def test_an_encoded_slash_does_not_turn_an_id_into_another_route(server):
    # /api/todo/x%2Fevents is /api/todo/x/events once decoded: x's journal, for an id that
    # was "x/events".
    status, body = call(server, "GET", "/api/todo/x%2Fevents", mint("todo", "x", "service:ops"))
    assert status == 400 and "'/'" in body["error"] and ID_RULE in body["error"]


@pytest.mark.parametrize("actor_id", ["list-1", "my list", "café", "日本語", "🎈", "\ufffd",
                                      "a:b.c_d~e+f@g", "é" * 128])
def test_ids_within_the_rule_are_served(server, actor_id):
    token = mint("todo", actor_id)
    path = f"/api/todo/{quote(actor_id, safe='')}"
    status, body = call(server, "POST", path, token, b'{"type": "ADD_TODO", "text": "x"}')
    assert status == 200, body
    assert [t["text"] for t in todos(server, actor_id)] == ["x"]


def test_ids_are_not_normalised_one_spelling_is_one_actor(server):
    composed, decomposed = "caf\u00e9-n", "cafe\u0301-n"
    status, _ = call(server, "POST", f"/api/todo/{quote(composed)}", mint("todo", composed),
                     b'{"type": "ADD_TODO", "text": "composed"}')
    assert status == 200
    assert todos(server, decomposed) == []


# -- frames and bodies that are not UTF-8 JSON text --------------------------------------------

def test_a_binary_frame_is_refused_with_an_error_frame_and_the_socket_stays_open(server):
    actor_id = "binary-1"

    async def go() -> None:
        async with websockets.connect(socket_url(server, actor_id)) as ws:
            await recv(ws)  # the whole view
            await ws.send(b'{"type": "ADD_TODO", "text": "\xffbinary"}')
            frame = await recv(ws)
            assert frame["operations"] == []
            assert frame["error"]["kind"] == "EventRejected"
            assert "text frame" in frame["error"]["message"]
            await ws.send(b'{"type": "ADD_TODO", "text": "valid, but binary"}')
            assert "text frame" in (await recv(ws))["error"]["message"]
            await ws.send(json.dumps({"type": "ADD_TODO", "text": "as text"}))
            frame = await recv(ws)  # still open: the event runs
            assert frame["operations"][0]["value"]["text"] == "as text"

    asyncio.run(go())
    assert [t["text"] for t in todos(server, actor_id)] == ["as text"]


def test_a_text_frame_that_is_not_utf8_fails_the_connection_and_stores_nothing(server):
    # RFC 6455 8.1: the server must fail the connection (1007); uvicorn does, before
    # actorkit sees the frame, and logs it as an error with a traceback, which actorkit
    # keeps out of the log.
    actor_id = "badtext-1"

    async def go() -> int | None:
        async with websockets.connect(socket_url(server, actor_id)) as ws:
            await recv(ws)
            await ws.send(b'{"type": "ADD_TODO", "text": "\xfftext"}', text=True)
            with pytest.raises(ConnectionClosed):
                await recv(ws)
            return ws.close_code

    assert asyncio.run(go()) == 1007
    assert todos(server, actor_id) == []
    log = server.read_log()  # a client's mistake: no traceback for any client to pour in
    assert "Invalid UTF-8" not in log and "UnicodeDecodeError" not in log, log


def test_a_body_that_is_not_utf8_is_refused_saying_so(server):
    status, body = call(server, "POST", "/api/todo/body-1", mint("todo", "body-1"),
                        b'{"type": "ADD_TODO", "text": "\xff"}')
    assert status == 400
    assert "not UTF-8" in body["error"] and "JSON event" in body["error"]
    assert todos(server, "body-1") == []


# -- duplicate keys ----------------------------------------------------------------------------

DUPLICATES = [
    b'{"type": "ADD_TODO", "type": "REMOVE_TODO", "text": "a"}',
    b'{"type": "ADD_TODO", "text": "a", "text": "b"}',
    b'{"type": "SYNC_TODOS", "todos": [{"id": "1", "text": "a", "completed": false, '
    b'"completed": true}]}',
    b'{"type": "ADD_TODO", "text": "a", "t\\u0065xt": "b"}',  # the same key, escaped
    b'{"type": "ADD_TODO", "text": "a\\u003a", "text": "b"}',  # a ':' the count cannot see
]


@pytest.mark.parametrize("body", DUPLICATES)
def test_an_event_naming_a_key_twice_is_refused_over_http(server, body):
    actor_id = "dup-http"
    caller = "service:ops" if b"SYNC_TODOS" in body else "client:alice"
    status, answer = call(server, "POST", f"/api/todo/{actor_id}",
                          mint("todo", actor_id, caller), body)
    assert status == 400, answer
    assert "appears twice" in answer["error"], answer
    assert todos(server, actor_id) == []


def test_an_event_naming_a_key_twice_is_refused_over_a_websocket(server):
    actor_id = "dup-ws"

    async def go() -> None:
        async with websockets.connect(socket_url(server, actor_id)) as ws:
            await recv(ws)
            for body in DUPLICATES[:2]:
                await ws.send(body.decode())
                frame = await recv(ws)
                assert frame["operations"] == [] and "appears twice" in frame["error"]["message"]
            await ws.send('{"type": "ADD_TODO", "text": "12:30 \\"a\\": b, {\\"c\\": 1}"}')
            frame = await recv(ws)  # colons and quotes inside strings are no duplicates
            assert frame["operations"][0]["value"]["text"] == '12:30 "a": b, {"c": 1}'

    asyncio.run(go())
    assert len(todos(server, actor_id)) == 1


@pytest.mark.parametrize("param", ["input", "waitForEvent", "waitForState"])
def test_a_json_query_parameter_naming_a_key_twice_is_refused(server, param):
    value = {"input": '{"a": 1, "a": 2}', "waitForEvent": '{"type": "A", "type": "B"}',
             "waitForState": '{"TodoList": "x", "TodoList": "y"}'}[param]
    actor_id = f"dup-{param}"
    query = urlencode({param: value, "timeout": "100"})
    status, body = call(server, "GET", f"/api/todo/{actor_id}?{query}", mint("todo", actor_id))
    assert status == 400, body
    assert body["error"].startswith(f"Invalid {param}: ") and "appears twice" in body["error"]


def test_a_websocket_input_naming_a_key_twice_is_refused_before_the_handshake(server):
    status, body = ws_refusal(socket_url(server, "dup-wsinput", input='{"a":1,"a":2}'))
    assert status == 400 and "appears twice" in body


# -- query parameters ---------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", ["²", "³", "٣", "\uff11", " 3", "+3", "3_000", "-3", "0", "1.5",
                                     "", "1e3", "0x10", "60001", "9" * 30, "1" + "0" * 5000])
def test_a_timeout_that_is_not_plain_digits_within_the_maximum_is_refused_at_once(
        server, timeout):
    query = urlencode({"waitForState": '"never"', "timeout": timeout})
    status, body = call(server, "GET", f"/api/todo/timeouts?{query}", mint("todo", "timeouts"))
    assert status == 400, body
    assert body == {"error": "Invalid timeout: a whole number of milliseconds from 1 to "
                             "60000, in digits 0-9"}


def test_the_longest_wait_allowed_is_taken_and_a_satisfied_one_answers_at_once(server):
    query = urlencode({"waitForState": '{"Initialization": "Ready"}', "timeout": "60000"})
    status, body = call(server, "GET", f"/api/todo/timeouts?{query}", mint("todo", "timeouts"))
    assert status == 200, body


@pytest.mark.parametrize(("query", "name"), [
    ("timeout=100&timeout=200&waitForState=%22x%22", "timeout"),
    ("errorOnWaitTimeout=true&errorOnWaitTimeout=false&waitForState=%22x%22&timeout=100",
     "errorOnWaitTimeout"),
    ("waitForState=%22x%22&waitForState=%22y%22&timeout=100", "waitForState"),
    ("input=%7B%7D&input=%7B%7D", "input"),
])
def test_a_parameter_given_twice_is_refused(server, query, name):
    status, body = call(server, "GET", f"/api/todo/twice?{query}", mint("todo", "twice"))
    assert status == 400, body
    assert body["error"] == f"Invalid {name}: given more than once; give it once"


def test_a_query_string_that_is_not_utf8_is_refused(server):
    status, body = call(server, "GET", "/api/todo/q-utf8?input=%7B%22a%22%3A%22%FF%22%7D",
                        mint("todo", "q-utf8"))
    assert status == 400 and "not UTF-8" in body["error"], body


@pytest.mark.parametrize(("params", "name"), [
    ({"after": "1" + "0" * 30}, "after"),
    ({"after": "٣"}, "after"),
    ({"after": "²"}, "after"),
    ({"after": "+3"}, "after"),
    ({"limit": "1_000"}, "limit"),
    ({"limit": "\u0661\u0660"}, "limit"),
    ({"limit": " 10"}, "limit"),
])
def test_journal_paging_takes_plain_digits_only(server, params, name):
    service = mint("todo", "paging", "service:ops")
    status, body = call(server, "GET", f"/api/todo/paging/events?{urlencode(params)}", service)
    assert status == 400, body
    assert body["error"].startswith(f"Invalid {name}: a whole number"), body


def test_journal_paging_given_twice_is_refused(server):
    service = mint("todo", "paging", "service:ops")
    status, body = call(server, "GET", "/api/todo/paging/events?after=1&after=-1", service)
    assert status == 400 and body["error"] == "Invalid after: given more than once; give it once"


@pytest.mark.parametrize("name", ["accessToken", "checksum"])
def test_a_websocket_parameter_given_twice_is_refused_before_the_handshake(server, name):
    token = mint("todo", "ws-twice")
    twice = {"accessToken": [("accessToken", token), ("accessToken", token)],
             "checksum": [("accessToken", token), ("checksum", "a" * 64),
                          ("checksum", "b" * 64)]}[name]
    query = urlencode(twice)
    status, body = ws_refusal(f"{server.ws}/api/todo/ws-twice?{query}")
    assert status == 400 and f"Invalid {name}: given more than once" in body


# -- a WebSocket lives as long as its token -----------------------------------------------------

def test_a_websocket_is_closed_when_its_token_expires_and_a_fresh_token_resumes(server):
    actor_id = "expiring-1"

    async def go() -> None:
        # exp is in whole seconds: 2 s from now, rounded down, is 1 to 2 s away.
        short = mint("todo", actor_id, ttl=2)
        async with websockets.connect(socket_url(server, actor_id, short)) as ws:
            view = await recv(ws)
            await ws.send(json.dumps({"type": "ADD_TODO", "text": "before"}))
            frame = await recv(ws)
            started = time.monotonic()
            with pytest.raises(ConnectionClosed):
                while time.monotonic() - started < 10:  # the close comes in ~2 s at most
                    frame = await recv(ws, timeout=10)
            assert ws.close_code == 1008
            assert ws.close_reason == "access token expired: reconnect with a fresh token"
        last = frame["checksum"]
        assert view["checksum"] != last
        async with websockets.connect(socket_url(server, actor_id, checksum=last)) as ws:
            await ws.send(json.dumps({"type": "ADD_TODO", "text": "after"}))
            frame = await recv(ws)  # a diff from where the client was: nothing resent
            assert [op["value"]["text"] for op in frame["operations"]] == ["after"]

    asyncio.run(go())
    assert [t["text"] for t in todos(server, actor_id)] == ["before", "after"]
