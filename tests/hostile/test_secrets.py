"""No caller learns what it may not see, against a real ``actorkit serve`` on 127.0.0.1: not
another bidder's secret maximum through parked waits."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from servers import Server, serve
from support import ROOT

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
