"""actorkit.server.protocol: the HTTP front door, served by a real uvicorn on 127.0.0.1 in
this process (uvloop, as `actorkit serve` runs it), with limits small enough to reach."""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import uvloop

from actorkit.limits import Limits
from actorkit.server.protocol import HttpProtocol, connection_cap

SMALL = Limits(max_header=1024, max_headers=10, header_timeout=0.4, keep_alive=0.4,
               max_connections=4)


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
              send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    """Reads the whole body, then answers how many headers and body bytes it got."""
    assert scope["type"] == "http"
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = f"{len(scope['headers'])} headers, {size} bytes".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Served:
    """A server's port, and the connections a test opened to it (closed after)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers.append(writer)
        return reader, writer


@asynccontextmanager
async def serving(limits: Limits = SMALL) -> AsyncIterator[Served]:
    """uvicorn serving :func:`app` with :class:`HttpProtocol` held to ``limits``, the way a
    user's subclass sets them."""
    protocol = type("Protocol", (HttpProtocol,), {"limits": limits})
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=protocol, lifespan="off", log_level="error",
                            access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    served = Served(sock.getsockname()[1])
    try:
        yield served
    finally:
        for writer in served.writers:
            writer.close()
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


def run(test: Callable[[], Awaitable[None]]) -> None:
    uvloop.run(asyncio.wait_for(test(), 20))


async def response(reader: asyncio.StreamReader, timeout: float = 3.0) -> tuple[int, bytes]:
    """The status and body of the next response."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    status = int(head.split(b" ", 2)[1])
    length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    return status, await asyncio.wait_for(reader.readexactly(length), timeout)


async def closed_after(reader: asyncio.StreamReader, timeout: float) -> tuple[float, bytes]:
    """Seconds until the server closes the connection, and what it sent before."""
    start = time.monotonic()
    data = await asyncio.wait_for(reader.read(), timeout)
    return time.monotonic() - start, data


def get(path: str = "/", headers: int = 1, size: int = 0) -> bytes:
    """A GET of ``headers`` headers (Host is one), padded by one more to ``size`` bytes."""
    lines = [b"GET " + path.encode() + b" HTTP/1.1", b"Host: x"]
    lines += [b"X-%d: v" % i for i in range(headers - 1)]
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    if size:
        head = head[:-2] + b"X-Pad: " + b"p" * (size - len(head) - 9) + b"\r\n\r\n"
        assert len(head) == size
    return head


# -- the open-files limit ----------------------------------------------------------------------

def test_the_cap_keeps_descriptors_for_the_server_below_the_open_files_limit():
    limits = Limits(max_connections=10_000)
    assert connection_cap(limits, 1024) == 896
    assert connection_cap(limits, 100_000) == 10_000
    assert connection_cap(limits, resource.RLIM_INFINITY) == 10_000
    assert connection_cap(limits, 1024, given=50) == 50  # uvicorn's --limit-concurrency
    assert connection_cap(limits, 40) == 30  # a small limit keeps a quarter
    assert connection_cap(Limits(max_connections=5), 1024) == 5


def limits_after_raising(soft: int, hard: int) -> tuple[int, int]:
    """raise_open_files_limit in a process started with these limits."""
    code = ("from actorkit.server.protocol import raise_open_files_limit; "
            "print(*raise_open_files_limit())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                               (soft, hard))).stdout
    got_soft, got_hard = map(int, out.split())
    return got_soft, got_hard


def test_the_soft_open_files_limit_is_raised_to_the_hard_one_where_allowed():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    higher = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    assert higher > 512, "this machine's hard open-files limit is too low for the test"
    assert limits_after_raising(512, higher) == (higher, higher)
    assert limits_after_raising(512, 512) == (512, 512)  # nothing to raise to: unchanged


# -- request heads ---------------------------------------------------------------------------

def test_a_head_of_max_header_bytes_is_served_and_one_byte_more_gets_431():
    long_path = "/" + "u" * (1024 - len(get()))
    assert len(get(long_path)) == 1024

    async def test() -> None:
        async with serving() as server:
            for head, status in ((get(size=1024), 200), (get(size=1025), 431),
                                 (get(long_path), 200), (get(long_path + "u"), 431)):
                reader, writer = await server.connect()
                writer.write(head)
                got, body = await response(reader)
                assert got == status, (len(head), body)
                if status == 431:
                    assert b"more than 1,024 bytes" in body and b"ACTORKIT_MAX_HEADER" in body
                    assert (await closed_after(reader, 3))[1] == b""
    run(test)


def test_the_limit_holds_however_the_head_is_split_across_writes():
    async def test() -> None:
        async with serving() as server:
            for head, status in ((get(size=1024), 200), (get(size=1025), 431)):
                reader, writer = await server.connect()
                for i in range(0, len(head), 300):  # four writes, read apart
                    writer.write(head[i:i + 300])
                    await writer.drain()
                    await asyncio.sleep(0.02)
                got, _ = await response(reader)
                assert got == status
    run(test)


def test_a_head_far_past_the_limit_is_cut_off_unread():
    async def test() -> None:
        async with serving() as server:
            reader, writer = await server.connect()
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
            sent = 0
            with_answer = asyncio.ensure_future(response(reader, timeout=10))
            try:
                while not with_answer.done() and sent < 64 * 1024 * 1024:
                    writer.write(b"a" * 65536)
                    sent += 65536
                    await asyncio.wait_for(writer.drain(), 5)
            except (ConnectionError, TimeoutError):
                pass
            status, _ = await with_answer
            assert status == 431
            assert sent < 32 * 1024 * 1024  # closed long before 64 MiB went
    run(test)


def test_max_headers_are_served_and_one_more_gets_431():
    async def test() -> None:
        async with serving() as server:
            reader, writer = await server.connect()
            writer.write(get(headers=10))
            assert await response(reader) == (200, b"10 headers, 0 bytes")
            writer.write(get(headers=11))  # on the same kept-alive connection
            status, body = await response(reader)
            assert status == 431 and b"more than 10 headers" in body
    run(test)


def test_pipelined_requests_are_each_held_to_the_limit_not_their_sum():
    async def test() -> None:
        async with serving() as server:
            reader, writer = await server.connect()
            writer.write(get() * 60)  # ~1.6 KiB in one write, each head a few dozen bytes
            for _ in range(60):
                assert await response(reader) == (200, b"1 headers, 0 bytes")
    run(test)


# -- time -----------------------------------------------------------------------------------

def test_a_connection_that_sends_no_head_in_time_is_closed():
    async def test() -> None:
        async with serving() as server:
            silent_reader, _ = await server.connect()
            slow_reader, slow = await server.connect()
            slow.write(b"GET / HTTP/1.1\r\n")
            t_silent, silent_got = await closed_after(silent_reader, 3)
            assert 0.3 < t_silent < 2.0 and silent_got == b""  # nothing to answer
            status, body = await response(slow_reader)
            assert status == 408 and b"ACTORKIT_HEADER_TIMEOUT" in body
    run(test)


def test_a_trickled_head_is_closed_in_time_on_a_new_and_on_a_kept_alive_connection():
    async def test() -> None:
        async with serving() as server:
            for first in (b"", get()):
                reader, writer = await server.connect()
                writer.write(first)
                if first:
                    assert (await response(reader))[0] == 200
                start = time.monotonic()
                answer = asyncio.ensure_future(response(reader))
                for byte in get(headers=8)[:30]:  # one byte every 0.1 s: 3 s for the lot
                    if answer.done():
                        break
                    writer.write(bytes([byte]))
                    await asyncio.sleep(0.1)
                assert (await answer)[0] == 408
                assert time.monotonic() - start < 1.5
    run(test)


def test_an_idle_kept_alive_connection_is_closed_after_keep_alive_and_not_before():
    async def test() -> None:
        async with serving() as server:
            reader, writer = await server.connect()
            writer.write(get())
            assert (await response(reader))[0] == 200
            await asyncio.sleep(0.2)
            writer.write(get())  # within keep_alive: served on the same connection
            assert (await response(reader))[0] == 200
            waited, got = await closed_after(reader, 3)
            assert 0.3 < waited < 1.5 and got == b""
    run(test)


# -- how many ---------------------------------------------------------------------------------

def test_past_the_cap_the_connection_idle_longest_makes_room():
    async def test() -> None:
        async with serving() as server:
            idle = [await server.connect() for _ in range(4)]  # the cap
            await asyncio.sleep(0.05)
            kept_reader, kept = idle[1]
            kept.write(get())
            assert (await response(kept_reader))[0] == 200  # now idle between requests
            reader, writer = await server.connect()
            writer.write(get())
            assert (await response(reader))[0] == 200
            # idle[0] waited longest for a head (the kept-alive one is newer)
            assert (await closed_after(idle[0][0], 1))[1] == b""
            assert not any(r.at_eof() for r, _ in idle[1:])
    run(test)


def test_when_every_connection_is_busy_a_new_one_gets_503_then_is_served_when_one_ends():
    async def test() -> None:
        async with serving() as server:
            busy = []
            for _ in range(4):  # the cap, each waiting for the rest of its body
                reader, writer = await server.connect()
                writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
                busy.append((reader, writer))
            await asyncio.sleep(0.1)
            reader, writer = await server.connect()
            writer.write(get())
            status, body = await response(reader)
            assert status == 503 and json.loads(body)["error"].startswith(
                "the server holds 4 connections and all are busy")
            first_reader, first = busy[0]
            first.write(b"cde")  # its request ends: it waits for the next, idle
            assert await response(first_reader) == (200, b"2 headers, 5 bytes")
            reader, writer = await server.connect()
            writer.write(get())
            assert (await response(reader))[0] == 200
    run(test)
