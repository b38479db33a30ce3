"""What is acknowledged is what is stored, exactly: against a real ``actorkit serve`` on
127.0.0.1 (and its SQLite file), killed and restarted where it matters.

The chart is ``truth/charts/ledger.yaml``: a value set as it comes, numbers computed by a hook
(into the public part, the caller's bucket or an internal key), entries added one by one, and
watchers counted from CONNECT and DISCONNECT.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from servers import Server, serve, servers

PROJECT = Path(__file__).parent / "truth"


def request(server: Server, method: str, actor_id: str, body: Any = None,
            caller: str = "client:alice", timeout: float = 10.0,
            **params: str) -> httpx.Response:
    token = server.token("ledger", actor_id, caller)
    content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return httpx.request(method, f"{server.url}/api/ledger/{actor_id}", content=content,
                         params=params, headers={"Authorization": f"Bearer {token}"},
                         timeout=timeout)


def post(server: Server, actor_id: str, event: Any, **kw: Any) -> httpx.Response:
    return request(server, "POST", actor_id, event, **kw)


def view(server: Server, actor_id: str, **kw: Any) -> Any:
    r = request(server, "GET", actor_id, **kw)
    assert r.status_code == 200, r.text
    return r.json()["snapshot"]


def ws_url(server: Server, actor_id: str, caller: str = "client:alice") -> str:
    token = server.token("ledger", actor_id, caller)
    return f"{server.ws}/api/ledger/{actor_id}?accessToken={token}"


@pytest.fixture(scope="module")
def server():
    with serve(PROJECT, cli=[]) as running:
        yield running


# -- numbers -------------------------------------------------------------------------------------

def test_integers_json_cannot_carry_exactly_are_refused_not_rounded(server):
    for big in (2**64 + 1, 2**100, -(2**63) - 1, 10**400):
        r = post(server, "big-1", b'{"type": "SET", "value": %d}' % big)
        assert r.status_code == 400, (big, r.text)
        assert r.json()["pointer"] == "/value"
        assert "send it as a string" in r.json()["error"]
    assert view(server, "big-1")["public"]["value"] is None  # nothing was stored
    # the extremes of what is stored exactly come back exactly, before and after a restart
    for edge in (2**64 - 1, -(2**63), "18446744073709551617"):
        assert post(server, "big-1", {"type": "SET", "value": edge}).status_code == 200
        assert view(server, "big-1")["public"]["value"] == edge
    # the same in spawn input and in the JSON of a wait
    r = request(server, "GET", "big-2", input='{"n": 18446744073709551617}')
    assert r.status_code == 400 and "send it as a string" in r.json()["error"], r.text
    r = request(server, "GET", "big-1", waitForEvent=f'{{"type": "SET", "value": {2**100}}}')
    assert r.status_code == 400 and "send it as a string" in r.json()["error"], r.text

    async def over_a_websocket() -> None:
        async with websockets.connect(ws_url(server, "big-1")) as ws:
            json.loads(await asyncio.wait_for(ws.recv(), 5))
            await ws.send(f'{{"type": "SET", "value": {2**100}}}')
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert frame["operations"] == []
            assert frame["error"]["kind"] == "EventRejected"
            assert frame["error"]["pointer"] == "/value"

    asyncio.run(over_a_websocket())
    assert view(server, "big-1")["public"]["value"] == "18446744073709551617"


def test_a_hook_that_computes_what_json_cannot_carry_fails_its_step():
    with servers(PROJECT, cli=[]) as launcher:
        server = launcher.start()
        assert post(server, "calc-1", {"type": "SET", "value": 1}).status_code == 200
        before = view(server, "calc-1")
        for event, where in [
            ({"a": 1e308, "b": 10, "op": "mul"}, "/public/value"),  # inf
            ({"a": -1e308, "b": 10, "op": "mul"}, "/public/value"),  # -inf
            ({"a": 1e308, "b": 10, "op": "diff"}, "/public/value"),  # nan
            ({"a": 2, "b": 100, "op": "pow"}, "/public/value"),  # 2**100
            ({"a": 1e308, "b": 10, "op": "mul", "into": "private"}, "/private/alice/value"),
            ({"a": 1e308, "b": 10, "op": "diff", "into": "internal"}, "/scratch/value"),
        ]:
            r = post(server, "calc-1", {"type": "CALC", **event})
            assert r.status_code == 500, (event, r.text)
            assert r.json()["kind"] == "ContextError", r.text
            assert f"at {where}:" in r.json()["error"], r.text
            assert view(server, "calc-1") == before
        server.kill()
        server = launcher.start()
        assert view(server, "calc-1") == before
        assert post(server, "calc-1", {"type": "CALC", "a": 2, "b": 3, "op": "mul"}).status_code \
            == 200
        assert view(server, "calc-1")["public"]["value"] == 6
