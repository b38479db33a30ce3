"""The outbox of one WebSocket: frames in order, written at once when the socket takes them,
handed to a task of its own when the socket blocks, a socket too far behind (in bytes) closed
and one that takes nothing dropped; and the close reason of an actor that cannot be brought
in."""

from __future__ import annotations

import asyncio
import socket
import struct

from actorkit.server.failures import Failure
from actorkit.server.socket import Outbox, _reason, transport_of


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


def test_a_socket_too_far_behind_in_bytes_is_closed_and_what_waits_dropped():
    async def go() -> None:
        socket = FakeSocket()
        box = Outbox(socket.send, limit=1000)
        socket.writable.clear()
        box.push("blocked")
        for i in range(10):  # 10 x 100 characters wait: at the limit, kept
            box.push(str(i) * 100)
        assert not box.closed and len(box._pending) == 10
        box.push("x")  # one more is past it
        assert len(box._pending) == 0  # dropped at once, not held until the close
        socket.writable.set()
        for _ in range(20):
            await asyncio.sleep(0)
        assert socket.sent == ["blocked", 1013]  # the frame being written, then the close
        assert box.closed
        box.push("late")
        assert socket.sent[-1] == 1013

    asyncio.run(go())


def test_one_big_frame_can_overflow_the_outbox_where_many_small_ones_do_not():
    async def go() -> None:
        socket = FakeSocket()
        box = Outbox(socket.send, limit=1000)
        socket.writable.clear()
        box.push("blocked")
        for _ in range(500):
            box.push("a")  # 500 frames, 500 bytes: they wait
        box.push("b" * 501)
        socket.writable.set()
        for _ in range(20):
            await asyncio.sleep(0)
        assert socket.sent == ["blocked", 1013]

    asyncio.run(go())


class FakeTransport:
    """What the outbox asks of uvicorn's transport: the bytes it holds, and an abort."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.held = 100_000
        self.aborted = asyncio.Event()

    def get_write_buffer_size(self) -> int:
        return self.held

    def get_extra_info(self, name: str) -> object:
        return self.sock if name == "socket" else None

    def abort(self) -> None:
        self.aborted.set()


async def until(condition, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)


def test_a_socket_that_takes_nothing_for_the_stall_time_has_its_connection_reset():
    async def go() -> None:
        socket_ = FakeSocket()
        transport = FakeTransport()
        box = Outbox(socket_.send, stall=0.2, transport=transport)
        socket_.writable.clear()  # the client never reads: the transport never drains
        box.push("a")
        box.push("b")
        await asyncio.wait_for(transport.aborted.wait(), 10)
        assert box.closed and not box._pending
        # a zero linger: the close resets the connection instead of offering what is unread
        linger = transport.sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8)
        assert struct.unpack("ii", linger) == (1, 0)
        transport.sock.close()
        box.push("late")
        assert not box._pending

    asyncio.run(go())


def test_a_slow_socket_that_keeps_taking_frames_is_not_reset():
    async def go() -> None:
        permits: asyncio.Queue[None] = asyncio.Queue()  # one frame out per permit
        sent: list[str] = []

        async def send(message: dict) -> None:
            await permits.get()
            sent.append(message["text"])

        transport = FakeTransport()
        box = Outbox(send, stall=0.5, transport=transport)
        for i in range(8):
            box.push(str(i))
        for _ in range(8):  # one frame every 0.15 s: 1.2 s in all, never 0.5 s without one
            await asyncio.sleep(0.15)
            permits.put_nowait(None)
        await until(lambda: box._task is None)
        assert sent == [str(i) for i in range(8)] and not transport.aborted.is_set()
        assert box._timer is None  # caught up: nothing left watching
        transport.sock.close()

    asyncio.run(go())


def test_a_client_taking_one_large_frame_slowly_is_not_reset_until_it_stops():
    async def go() -> None:
        socket_ = FakeSocket()
        transport = FakeTransport()
        box = Outbox(socket_.send, stall=0.5, transport=transport)
        socket_.writable.clear()  # no frame goes out: the transport holds a large one
        box.push("a")
        box.push("b")
        for _ in range(8):  # ...which the client reads bit by bit for 1.2 s
            await asyncio.sleep(0.15)
            transport.held -= 1000
        assert not transport.aborted.is_set()
        await asyncio.wait_for(transport.aborted.wait(), 10)  # then stops: reset
        transport.sock.close()

    asyncio.run(go())


def test_without_its_transport_a_stalled_socket_stops_being_sent_to():
    async def go() -> None:
        socket_ = FakeSocket()
        box = Outbox(socket_.send, stall=0.2)
        socket_.writable.clear()
        box.push("a")
        box.push("b")
        await until(lambda: box._task is None)
        assert box.closed and socket_.sent == []

    asyncio.run(go())


def test_the_transport_is_found_under_uvicorns_own_send_only():
    class Protocol:
        def __init__(self) -> None:
            self.transport = FakeTransport()

        async def send(self, message: dict) -> None: ...

    protocol = Protocol()
    assert transport_of(protocol.send) is protocol.transport
    protocol.transport.sock.close()
    assert transport_of(FakeSocket().send) is None  # no transport behind it
    assert transport_of(lambda message: None) is None  # type: ignore[arg-type, return-value]


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
        expiry = _Expiry(0.05, box)
        box.push("a")
        assert not expiry.expired
        await asyncio.sleep(0.2)
        assert expiry.expired and box.closed
        assert closes == [{"type": "websocket.close", "code": 1008, "reason": EXPIRED}]
        box.push("late")
        assert socket.sent == ["a", 1008]

        kept = Outbox(send)
        _Expiry(0.05, kept).cancel()  # the socket went away first
        await asyncio.sleep(0.2)
        assert not kept.closed and len(closes) == 1

    asyncio.run(go())


def test_an_expired_token_on_a_socket_that_never_reads_drops_its_frames_and_resets_it():
    from actorkit.server.socket import _Expiry

    async def go() -> None:
        socket_ = FakeSocket()
        transport = FakeTransport()
        box = Outbox(socket_.send, stall=0.3, transport=transport)
        socket_.writable.clear()  # never reads
        box.push("a")
        box.push("b")
        _Expiry(0.05, box)
        await asyncio.sleep(0.1)
        assert box.closed and not box._pending  # "b" will never follow the close
        await asyncio.wait_for(transport.aborted.wait(), 10)
        transport.sock.close()

    asyncio.run(go())
