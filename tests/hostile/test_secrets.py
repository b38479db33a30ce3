"""No caller learns what it may not see, against a real ``actorkit serve`` on 127.0.0.1: not
another bidder's secret maximum through parked waits, not a token from the server's log, not
another caller's PIN (or the server's paths) from the error of a failed step.

The failing hooks are the vault's (``vault/``): each quotes a PIN in what it raises.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import websockets
from servers import Server, serve, servers
from support import ROOT
from websockets.exceptions import ConnectionClosed, InvalidStatus

VAULT = Path(__file__).resolve().parent / "vault"
PRODUCTION = ["--production"]

AUCTION = {"title": "Oak desk", "startingPrice": 10_000, "increment": 500, "reservePrice": 0,
           "durationSeconds": 600, "sellerId": "sam"}
BOBS_MAXIMUM = 20_000
GUESSES = range(10_000, 160_000, 500)  # 300 guesses, bob's maximum among them


def headers(server: Server, actor: str, caller: str) -> dict[str, str]:
    kind, actor_id = actor.split("/")
    return {"Authorization": f"Bearer {server.token(kind, actor_id, caller)}"}


def post(server: Server, actor: str, caller: str, event: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/{actor}", json=event, timeout=10,
                      headers=headers(server, actor, caller))


def ws_url(server: Server, actor: str, caller: str) -> str:
    kind, actor_id = actor.split("/")
    query = urlencode({"accessToken": server.token(kind, actor_id, caller)})
    return f"{server.ws}/api/{actor}?{query}"


# -- waits ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def auction_server():
    with serve(ROOT, cli=PRODUCTION) as running:
        yield running


async def parked_get(server: Server, path: str, authorization: str,
                     ) -> tuple[asyncio.Task[tuple[int, bytes, float]], float]:
    """Send ``GET path`` on a connection of its own, and return (once the request is on its
    way) the task that reads the answer: status, body and when it came; and when it was sent.
    (httpx sends a few hundred concurrent requests only over seconds.)"""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}"
                 f"\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    sent = time.monotonic()

    async def answer() -> tuple[int, bytes, float]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            body = await reader.readexactly(length)
            return int(head.split()[1]), body, time.monotonic()
        finally:
            writer.close()

    return asyncio.create_task(answer()), sent


def test_parked_guesses_learn_nothing_of_another_bidders_maximum(auction_server):
    """The attack of the issue, bounded: 300 guesses at bob's secret maximum, parked while he
    sets it, all end alike at their timeout; alice's own maximum and the proxy bids she sees
    still answer her waits."""
    server, actor = auction_server, "auction/secret-max"
    assert httpx.get(f"{server.url}/api/{actor}", params={"input": json.dumps(AUCTION)},
                     headers=headers(server, actor, "client:sam")).status_code == 200
    assert post(server, actor, "service:platform", {"type": "OPEN"}).status_code == 200
    assert post(server, actor, "client:bob", {"type": "PLACE_BID", "amount": 10_000}
                ).status_code == 200
    alice = headers(server, actor, "client:alice")["Authorization"]
    timeout = 3.0

    def send(caller: str, amount: int) -> None:
        assert post(server, actor, caller, {"type": "SET_MAX_BID", "amount": amount}
                    ).status_code == 200

    async def wait(event: dict[str, Any]) -> tuple[asyncio.Task[tuple[int, bytes, float]],
                                                     float]:
        query = urlencode({"waitForEvent": json.dumps(event), "timeout": int(timeout * 1000)})
        return await parked_get(server, f"/api/{actor}?{query}", alice)

    async def attack() -> None:
        guesses = {amount: await wait({"type": "SET_MAX_BID", "amount": amount})
                   for amount in GUESSES}
        any_maximum, _ = await wait({"type": "SET_MAX_BID"})
        tasks = [task for task, _ in guesses.values()] + [any_maximum]
        try:
            await asyncio.sleep(0.3)  # every request sent is read and parked by now
            # bob, leading, sets his maximum: a step that changes only his own bucket
            await asyncio.to_thread(send, "client:bob", BOBS_MAXIMUM)
            await asyncio.sleep(0.3)
            assert [amount for amount, (task, _) in guesses.items() if task.done()] == []
            assert not any_maximum.done()
            # carol's maximum makes the proxies bid: a step alice sees, so it answers her
            # wait for the type, and none of the guesses at its amount
            await asyncio.to_thread(send, "client:carol", 15_000)
            status, body, _ = await asyncio.wait_for(any_maximum, timeout)
            assert status == 200
            assert json.loads(body)["snapshot"]["public"]["currentPrice"] == 15_500
            # alice's own maximum answers her own guess at it
            await asyncio.to_thread(send, "client:alice", 16_000)
            status, body, _ = await asyncio.wait_for(guesses.pop(16_000)[0], timeout)
            assert status == 200
            assert json.loads(body)["snapshot"]["private"] == {"maxBid": 16_000}
            answers = await asyncio.gather(*(task for task, _ in guesses.values()))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # every other guess, bob's and carol's maximum among them, ended the same way, at
        # its timeout
        assert {(status, body) for status, body, _ in answers} == {
            (408, b'{"error":"Timeout waiting for event or state"}')}
        assert all(end - sent >= timeout - 0.05
                   for (_, _, end), (_, sent) in zip(answers, guesses.values(), strict=True))

    asyncio.run(attack())


# -- logs -----------------------------------------------------------------------------------

INFO = ["--log-level", "info"]  # the last --log-level given wins


@pytest.mark.parametrize("options", [{"cli": [*PRODUCTION, *INFO]}, {"uvicorn": INFO}],
                         ids=["actorkit-serve", "uvicorn-factory"])
def test_no_token_reaches_the_log(options):
    """At log level info, uvicorn logs every request with its query string: WebSockets carry
    their token there."""
    with serve(ROOT, **options) as server:
        url = f"{ws_url(server, 'todo/logs', 'client:alice')}&checksum=abc"
        stranger = server.token("todo", "elsewhere", "client:mallory")

        async def sockets() -> None:
            assert "operations" in await first_frame(url)  # accepted
            with pytest.raises(InvalidStatus):  # refused: a token for another actor
                await first_frame(f"{server.ws}/api/todo/logs?accessToken={stranger}")

        asyncio.run(sockets())
        # and the same tokens where they do not belong, in plain HTTP requests
        assert httpx.get(f"{url.replace('ws://', 'http://')}").status_code == 401
        assert httpx.get(f"{server.url}/api/todo/{stranger}").status_code == 401
        server.stop()
        log = server.read_log()
    tokens = [url.split("accessToken=")[1].split("&")[0], stranger]
    assert [t for t in tokens if t in log or t.split(".")[2] in log] == []
    assert '"WebSocket /api/todo/logs?accessToken=[redacted]&checksum=abc" [accepted]' in log
    assert '"WebSocket /api/todo/logs?accessToken=[redacted]" 401' in log
    assert '"GET /api/todo/logs?accessToken=[redacted]&checksum=abc HTTP/1.1" 401' in log
    assert '"GET /api/todo/[redacted] HTTP/1.1" 401' in log


# -- failed steps ---------------------------------------------------------------------------

PIN = "4711"  # bob's


def set_pins(server: Server, actor: str) -> None:
    for caller, pin in (("client:bob", PIN), ("client:alice", "0000")):
        assert post(server, actor, caller, {"type": "SET_PIN", "pin": pin}).status_code == 200


def leaks(text: str) -> list[str]:
    """What of bob's PIN and of the server's insides ``text`` gives away."""
    return [secret for secret in (PIN, str(VAULT), "vault.py", "Traceback", "Error:")
            if secret in text]


def logged(log: str, ref: str) -> str:
    """The log line that starts the record with the reference ``ref``."""
    [line] = [line for line in log.splitlines() if f"(reference {ref})" in line]
    return line


async def first_frame(url: str) -> dict[str, Any]:
    async with websockets.connect(url) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[no-any-return]


async def tidy(url: str) -> dict[str, Any]:
    """TIDY over the WebSocket (its hook breaks bob's bucket): the error frame."""
    async with websockets.connect(url) as ws:
        await asyncio.wait_for(ws.recv(), 5)  # the view
        await ws.send(json.dumps({"type": "TIDY"}))
        return json.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[no-any-return]


def test_a_failed_step_tells_a_client_a_reference_and_the_log_the_rest():
    """Outside development: over HTTP, over the WebSocket, and for a stored actor whose RESUME
    fails when it is brought back (by a GET, by a WebSocket)."""
    actor = "vault/v1"
    with servers(VAULT, cli=PRODUCTION) as launcher:
        server = launcher.start()
        set_pins(server, actor)
        r = post(server, actor, "client:alice", {"type": "CHECK"})  # raises, quoting PINs
        assert r.status_code == 500 and leaks(r.text) == []
        check = r.json()
        assert (check["kind"], check["hook"], check["type"]) == ("HookError", "check_pins",
                                                                 "CHECK")
        frame = asyncio.run(tidy(ws_url(server, actor, "client:alice")))
        assert frame["operations"] == [] and leaks(json.dumps(frame)) == []
        tidied = frame["error"]
        assert (tidied["kind"], tidied["type"]) == ("ContextError", "TIDY")

        assert post(server, actor, "client:alice", {"type": "BREAK"}).status_code == 200
        server.stop()
        server = launcher.start()  # the actor comes back on its next touch, and fails to
        r = httpx.get(f"{server.url}/api/{actor}", headers=headers(server, actor,
                                                                   "client:alice"))
        assert r.status_code == 500 and leaks(r.text) == []
        resume = r.json()
        assert (resume["kind"], resume["hook"], resume["type"]) == ("HookError", "resume",
                                                                    "RESUME")
        with pytest.raises(ConnectionClosed) as closed:
            asyncio.run(first_frame(ws_url(server, actor, "client:alice")))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
        reason = closed.value.rcvd.reason
        assert leaks(reason) == []
        connect_ref = re.search(r"\(reference ([0-9a-f]{8})\)", reason)
        assert connect_ref is not None, reason
        server.stop()
        log = launcher.logs()
    assert "ValueError: the PINs do not match" in logged(log, check["ref"])
    assert f"{PIN} is not valid" in logged(log, tidied["ref"])
    for ref in (resume["ref"], connect_ref[1]):
        assert f"RuntimeError: cannot resume: bob's PIN is {PIN}" in logged(log, ref)
    assert f'{VAULT / "hooks" / "vault.py"}", line' in log  # the tracebacks
    assert leaks(log) == [PIN, str(VAULT), "vault.py", "Traceback", "Error:"]


def test_in_development_a_failed_step_tells_the_client_everything():
    with serve(VAULT, cli=[]) as server:  # actorkit serve on 127.0.0.1: development
        set_pins(server, "vault/v2")
        r = post(server, "vault/v2", "client:alice", {"type": "CHECK"})
    assert r.status_code == 500
    assert "ValueError: the PINs do not match" in r.json()["error"]
    assert PIN in r.json()["error"] and "vault.py" in r.json()["error"]
