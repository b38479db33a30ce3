"""Memory and disk are bounded by bytes: a real ``actorkit serve`` on 127.0.0.1 against clients
that send too much, read nothing, or ask for what cannot fit.

Every loop here is bounded in count and in time; the server's memory is read from
``/proc/<pid>/status`` (VmRSS, and VmHWM: the most it ever held)."""

from __future__ import annotations

import asyncio
import json
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


@pytest.fixture(scope="module")
def server():
    with serve(ROOT, cli=[]) as running:
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

def test_a_huge_invalid_value_is_not_sent_back_nor_logged():
    with serve(ROOT, cli=[], extra_env={"ACTORKIT_MAX_BODY": "32MiB"}) as roomy:
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
