"""Memory and disk are bounded by bytes: a real ``actorkit serve`` on 127.0.0.1 against clients
that send too much, read nothing, or ask for what cannot fit.

Every loop here is bounded in count and in time; the server's memory is read from
``/proc/<pid>/status`` (VmRSS, and VmHWM: the most it ever held)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import select
import socket
import struct
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import websockets
from servers import Server, serve
from support import ROOT

MB = 1024 * 1024
#: A full todo list: the schema's cap of 1,000 todos of 500 characters (~580 KB of state).
FULL = [{"id": f"t{i}", "text": "x" * 500, "completed": False} for i in range(1000)]


#: Seconds a socket with frames waiting may take none before it is dropped (10 by default).
STALL = 2.0


@pytest.fixture(scope="module")
def server():
    with serve(ROOT, cli=[], extra_env={"ACTORKIT_SOCKET_STALL": str(STALL)}) as running:
        yield running


def headers(server: Server, actor: str, caller: str = "client:alice") -> dict[str, str]:
    kind, actor_id = actor.split("/")
    return {"Authorization": f"Bearer {server.token(kind, actor_id, caller)}"}


def post(server: Server, actor: str, event: Any, caller: str = "client:alice") -> httpx.Response:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return httpx.post(f"{server.url}/api/{actor}", content=body, timeout=30,
                      headers=headers(server, actor, caller))


def ws_url(server: Server, actor: str, caller: str = "client:alice") -> str:
    kind, actor_id = actor.split("/")
    query = urlencode({"accessToken": server.token(kind, actor_id, caller)})
    return f"{server.ws}/api/{actor}?{query}"


def fill(server: Server, actor: str) -> None:
    """The todo list of ``actor`` at its schema's cap."""
    r = post(server, actor, {"type": "SYNC_TODOS", "todos": FULL}, caller="service:sync")
    assert r.status_code == 200, r.text


def memory(server: Server) -> dict[str, int]:
    """The server's VmRSS and VmHWM, in bytes."""
    found = {}
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0]) * 1024
    return found


async def error_frame(ws: Any, timeout: float = 10.0) -> dict[str, Any]:
    """The next error frame on ``ws``, skipping view frames (bounded by ``timeout``)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if "error" in frame:
                return frame  # type: ignore[no-any-return]


# -- error messages quote at most an excerpt -----------------------------------------------

@pytest.fixture(scope="module")
def roomy():
    """A server that takes bodies of 32 MiB, and holds each actor to 256 KiB of state."""
    env = {"ACTORKIT_MAX_BODY": "32MiB", "ACTORKIT_MAX_STATE": "256KiB"}
    with serve(ROOT, cli=[], extra_env=env) as running:
        yield running


def test_a_huge_invalid_value_is_not_sent_back_nor_logged(roomy):
    text = "x" * (10 * MB)
    r = post(roomy, "todo/huge-1", {"type": "ADD_TODO", "text": text})
    assert r.status_code == 400 and len(r.content) < 1000
    assert "is too long" in r.json()["error"]
    r = post(roomy, "todo/huge-1", {"type": "ADD_TODO", "text": "x", text: 1})  # a key
    assert r.status_code == 400 and len(r.content) < 1000
    r = post(roomy, "todo/huge-1", {"type": text})
    assert r.status_code == 400 and len(r.content) < 1000

    async def frame() -> dict[str, Any]:
        async with websockets.connect(ws_url(roomy, "todo/huge-1"), max_size=None) as ws:
            await ws.send(json.dumps({"type": "ADD_TODO", "text": text}))
            return await error_frame(ws)

    found = asyncio.run(frame())
    assert len(json.dumps(found)) < 1000 and "is too long" in found["error"]["message"]
    assert len(roomy.read_log()) < 10_000


# -- an event the state cannot take is the sender's error ----------------------------------

def test_an_actors_state_is_held_to_max_state(roomy):
    r = post(roomy, "todo/big-1", {"type": "SYNC_TODOS", "todos": FULL[:300]},
             caller="service:sync")
    assert r.status_code == 200  # ~170 KB
    r = post(roomy, "todo/big-1", {"type": "SYNC_TODOS", "todos": FULL}, caller="service:sync")
    assert r.status_code == 409 and r.json()["kind"] == "BoundError"
    assert "past its limit of 262,144" in r.json()["error"] and len(r.content) < 1000
    state = httpx.get(f"{roomy.url}/api/todo/big-1", headers=headers(roomy, "todo/big-1"))
    assert len(state.json()["snapshot"]["public"]["todos"]) == 300  # as it was


def test_an_event_past_the_schemas_cap_is_a_short_409_and_not_logged(server):
    fill(server, "todo/cap-1")
    log_before = len(server.read_log())
    r = post(server, "todo/cap-1", {"type": "ADD_TODO", "text": "one too many"})
    assert r.status_code == 409 and len(r.content) < 1000
    assert r.json() == {
        "error": "context.public at /todos would hold more than 1000 items (maxItems: 1000) in "
                 "the `public` schema: the event cannot apply to the actor as it is, and "
                 "changed nothing",
        "kind": "BoundError", "type": "ADD_TODO"}

    async def frame() -> dict[str, Any]:
        async with websockets.connect(ws_url(server, "todo/cap-1")) as ws:
            await ws.send(json.dumps({"type": "ADD_TODO", "text": "one too many"}))
            return await error_frame(ws)

    found = asyncio.run(frame())
    assert found["error"]["kind"] == "BoundError" and len(json.dumps(found)) < 1000
    assert found["error"]["message"] == r.json()["error"]
    assert len(server.read_log()) == log_before
    # removing one makes room again
    assert post(server, "todo/cap-1", {"type": "REMOVE_TODO", "id": "t0"}).status_code == 200
    assert post(server, "todo/cap-1", {"type": "ADD_TODO", "text": "fits"}).status_code == 200


# -- request bodies are bounded while they stream ------------------------------------------

def raw_post(server: Server, actor: str, total: int, *, chunked: bool,
             timeout: float = 60.0) -> tuple[int, int]:
    """POST a body of ``total`` bytes from a raw socket, 64 KiB at a time, with a
    Content-Length or chunked; stop sending as soon as the server answers or goes. Returns
    the status it answered and the bytes sent."""
    kind, actor_id = actor.split("/")
    head = (f"POST /api/{actor} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {server.token(kind, actor_id, 'client:alice')}\r\n"
            + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {total}\r\n")
            + "\r\n").encode()
    piece = b" " * 65536
    sent = 0
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(head)
        while sent < total and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break  # an answer (or the end) before the whole body: stop sending
            if writable:
                data = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                try:
                    sock.sendall(data)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(piece)
        answer = b""
        try:
            while b"\r\n" not in answer and time.monotonic() < deadline:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split()[1]), sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_200_mb_body_gets_413_without_the_server_holding_it(server, chunked):
    post(server, "todo/body-1", {"type": "ADD_TODO", "text": "warm"})  # the actor is in
    before = memory(server)
    status, sent = raw_post(server, "todo/body-1", 200 * MB, chunked=chunked)
    after = memory(server)
    assert after["VmHWM"] - before["VmHWM"] < 8 * MB, (before, after)
    assert after["VmRSS"] - before["VmRSS"] < 8 * MB, (before, after)
    assert status == 413
    assert sent < 50 * MB  # refused early, not after the whole body
    # the server is fine, and the actor unchanged
    assert post(server, "todo/body-1", {"type": "ADD_TODO", "text": "next"}).status_code == 200


def test_actorkit_serve_holds_websocket_messages_to_max_body_too(server):
    async def run() -> tuple[int, str]:
        async with websockets.connect(ws_url(server, "todo/ws-big"), max_size=None) as ws:
            await ws.send("x" * (MB + 1))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(10):
                    while True:
                        await ws.recv()
            return closed.value.rcvd.code, closed.value.rcvd.reason  # type: ignore[union-attr]

    code, reason = asyncio.run(run())
    # refused by uvicorn as the message came in (ws_max_size), before the endpoint saw it
    assert code == 1009 and "ACTORKIT_MAX_BODY" not in reason, reason


# -- sockets that do not read ----------------------------------------------------------------

def deaf_socket(server: Server, actor: str, caller: str = "client:alice") -> socket.socket:
    """A WebSocket client on a raw socket that, once the handshake is read, never reads
    again (with a small receive buffer, so that what the server sends piles up on its side)."""
    kind, actor_id = actor.split("/")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    query = urlencode({"accessToken": server.token(kind, actor_id, caller)})
    sock.sendall(f"GET /api/{actor}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # byte by byte: nothing past the handshake is read
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def text_frame(text: str) -> bytes:
    """A masked WebSocket text frame, as a client sends it."""
    data = text.encode()
    mask = os.urandom(4)
    size = (struct.pack("!B", 0x80 | len(data)) if len(data) < 126
            else struct.pack("!BH", 0x80 | 126, len(data)))
    return b"\x81" + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def dropped(sock: socket.socket, within: float) -> bool:
    """Whether the server drops the connection of ``sock`` within ``within`` seconds, seen
    from the TCP state of the client's side (which needs no read): CLOSE after a reset,
    CLOSE_WAIT after the server's FIN."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        if state in (7, 8):  # TCP_CLOSE, TCP_CLOSE_WAIT
            return True
        time.sleep(0.1)
    return False


def other_todos(n: int) -> list[dict[str, Any]]:
    """A full list whose every text differs from the one before: its frame replaces all."""
    return [{"id": f"t{i}", "text": str(n % 10) * 500, "completed": False} for i in range(1000)]


def test_a_socket_that_never_reads_is_dropped_and_holds_no_more_than_its_buffer(server):
    fill(server, "todo/deaf-1")
    deaf = deaf_socket(server, "todo/deaf-1")
    try:
        before = memory(server)
        start = time.monotonic()
        for n in range(16):  # ~580 KB frames, 9 MB in all: far past what the socket may hold
            r = post(server, "todo/deaf-1", {"type": "SYNC_TODOS", "todos": other_todos(n)},
                     caller="service:sync")
            assert r.status_code == 200
        assert dropped(deaf, within=STALL + 10), "the socket was never dropped"
        assert time.monotonic() - start < STALL + 15
        after = memory(server)
        assert after["VmHWM"] - before["VmHWM"] < 40 * MB, (before, after)
        # and the server still serves the actor to a client that reads
        async def fresh() -> int:
            async with websockets.connect(ws_url(server, "todo/deaf-1", "client:bob"),
                                          max_size=None) as ws:
                return len(json.loads(await asyncio.wait_for(ws.recv(), 10))["operations"])

        assert asyncio.run(fresh()) > 0
    finally:
        deaf.close()


def test_deaf_clients_sending_events_past_the_cap_cannot_grow_the_server():
    """The issue's worst case: a todo list at its cap, three clients that never read sending
    36-byte ADD_TODO frames, each refusal an error frame (580 KB each, queued up to 1,000 per
    socket, before: three sockets took the server from 378 MB to 2.5 GB)."""
    with serve(ROOT, cli=[], extra_env={"ACTORKIT_SOCKET_STALL": "30"}) as running:
        fill(running, "todo/worst-1")
        deaf = [deaf_socket(running, "todo/worst-1", f"client:deaf{i}") for i in range(3)]
        try:
            before = memory(running)
            frame = text_frame(json.dumps({"type": "ADD_TODO", "text": "one too many"}))
            for _ in range(60):
                for sock in deaf:
                    sock.sendall(frame)
            # every frame was taken and refused: the list is as it was
            todos = httpx.get(f"{running.url}/api/todo/worst-1", timeout=30,
                              headers=headers(running, "todo/worst-1")).json()
            assert len(todos["snapshot"]["public"]["todos"]) == 1000
            time.sleep(1.0)  # the last refusals queued
            after = memory(running)
            assert after["VmHWM"] - before["VmHWM"] < 16 * MB, (before, after)
        finally:
            for sock in deaf:
                sock.close()


# -- what an actor keeps ---------------------------------------------------------------------

def test_a_todo_list_filled_to_its_cap_one_event_at_a_time_costs_megabytes_not_hundreds(server):
    """The view cache kept 256 views of any size: such a list took ~300 MB of the server."""
    post(server, "todo/fill-0", {"type": "ADD_TODO", "text": "warm"})
    before = memory(server)
    with httpx.Client(timeout=30) as client:
        auth = headers(server, "todo/fill-1")
        for i in range(1000):
            body = json.dumps({"type": "ADD_TODO", "text": f"{i:04d}" + "x" * 496}).encode()
            r = client.post(f"{server.url}/api/todo/fill-1", content=body, headers=auth)
            assert r.status_code == 200, r.text
    after = memory(server)
    assert after["VmHWM"] - before["VmHWM"] < 40 * MB, (before, after)


def test_journal_pages_are_bounded_in_bytes_and_next_walks_them_all(server):
    for n in range(4):  # four entries of ~580 KB: a page of 1 MiB holds one of them at a time
        r = post(server, "todo/journal-1", {"type": "SYNC_TODOS", "todos": other_todos(n)},
                 caller="service:sync")
        assert r.status_code == 200
    seqs: list[int] = []
    after = -1
    for _ in range(20):
        r = httpx.get(f"{server.url}/api/todo/journal-1/events", timeout=30,
                      params={"after": after, "limit": 1000},
                      headers=headers(server, "todo/journal-1", "service:audit"))
        assert r.status_code == 200
        body = r.json()
        if not body["events"]:
            assert body["next"] is None
            break
        assert len(r.content) <= MB or len(body["events"]) == 1
        seqs += [e["seq"] for e in body["events"]]
        after = body["next"]
    assert seqs == list(range(5))  # the spawn, then the four, each once, in order
