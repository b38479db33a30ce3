"""The outbox of one WebSocket: frames in order, written at once when the socket takes them,
handed to a task of its own when the socket blocks, and a socket too far behind closed; and
the close reason of an actor that cannot be brought in."""

from __future__ import annotations

import asyncio

from actorkit.server.failures import Failure
from actorkit.server.socket import MAX_PENDING_FRAMES, Outbox, _reason


class FakeSocket:
    """An ASGI ``send`` whose transport can be made to block, as uvicorn's does when full."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.sent: list[object] = []

    async def send(self, message: dict) -> None:
        await self.writable.wait()
        self.sent.append(message.get("text", message.get("code")))


def test_frames_go_out_at_once_when_the_socket_takes_them():
    async def go() -> None:
        socket = FakeSocket()
        box = Outbox(socket.send)
        box.push("a")
        box.push("b")
        assert socket.sent == ["a", "b"]  # written in the pushing task, no task switch

    asyncio.run(go())


def test_a_blocked_socket_gets_a_task_and_keeps_the_order():
    async def go() -> None:
        socket = FakeSocket()
        box = Outbox(socket.send)
        box.push("a")
        socket.writable.clear()
        box.push("b")  # blocks: finished later by a task
        box.push("c")
        await asyncio.sleep(0)
        assert socket.sent == ["a"]
        socket.writable.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert socket.sent == ["a", "b", "c"]
        box.push("d")  # free again: at once
        assert socket.sent == ["a", "b", "c", "d"]

    asyncio.run(go())


def test_a_socket_too_far_behind_is_closed():
    async def go() -> None:
        socket = FakeSocket()
        box = Outbox(socket.send)
        socket.writable.clear()
        for i in range(MAX_PENDING_FRAMES + 5):
            box.push(str(i))
        socket.writable.set()
        for _ in range(20):
            await asyncio.sleep(0)
        assert socket.sent == ["0", 1013]  # the blocked frame, then the close
        assert box.closed
        box.push("late")
        assert socket.sent[-1] == 1013

    asyncio.run(go())


def test_a_gone_socket_stops_the_outbox():
    async def go() -> None:
        async def broken(message: dict) -> None:
            raise OSError("connection reset")

        box = Outbox(broken)
        box.push("a")
        assert box.closed

    asyncio.run(go())


def test_a_send_that_only_yields_to_the_loop_still_completes():
    async def go() -> None:
        sent: list[str] = []

        async def polite(message: dict) -> None:
            await asyncio.sleep(0)
            sent.append(message["text"])

        box = Outbox(polite)
        box.push("a")
        box.push("b")
        for _ in range(10):
            await asyncio.sleep(0)
        assert sent == ["a", "b"]

    asyncio.run(go())


def test_a_close_reason_fits_its_frame_and_keeps_the_reference():
    def told(error: str) -> Failure:
        return Failure(500, {"error": error, "kind": "HookError", "type": "RESUME",
                             "ref": "0123abcd"})

    short = "hook resume failed on RESUME (reference 0123abcd)"
    assert _reason(told(short)) == short
    reason = _reason(told("hook `résumé` raised ValueError: " + "é" * 200))  # development
    assert len(reason.encode()) <= 123 and reason.endswith(" (reference 0123abcd)")
    assert reason.startswith("hook `résumé` raised ValueError: é")
    unlogged = Failure(409, {"error": "x" * 200, "kind": "BoundError", "type": "GO"})
    assert _reason(unlogged) == "x" * 120  # a failure told whole has no reference


def test_a_socket_is_closed_when_its_token_expires_and_nothing_follows_the_close():
    from actorkit.server.socket import EXPIRED, _Expiry

    async def go() -> None:
        closes: list[dict] = []
        socket = FakeSocket()

        async def send(message: dict) -> None:
            if message["type"] == "websocket.close":
                closes.append(message)
            await socket.send(message)

        box = Outbox(send)
        expiry = _Expiry(0.05, box, send)
        box.push("a")
        assert not expiry.expired
        await asyncio.sleep(0.2)
        assert expiry.expired and box.closed
        assert closes == [{"type": "websocket.close", "code": 1008, "reason": EXPIRED}]
        box.push("late")
        assert socket.sent == ["a", 1008]

        kept = Outbox(send)
        _Expiry(0.05, kept, send).cancel()  # the socket went away first
        await asyncio.sleep(0.2)
        assert not kept.closed and len(closes) == 1

    asyncio.run(go())
