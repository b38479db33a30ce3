"""A real `actorkit serve` on 127.0.0.1 facing clients that hold no token: request heads of
hundreds of megabytes, heads that never end, idle connections by the thousand. Each time,
another client's GET is still answered promptly."""

from __future__ import annotations

import contextlib
import re
import resource
import select
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import websockets.sync.client
from servers import Server, serve
from support import ROOT
from websockets.exceptions import InvalidStatus

MiB = 1024 * 1024
#: Short enough to watch happen; the defaults are 10 s and 5 s.
QUICK = {"ACTORKIT_HEADER_TIMEOUT": "1", "ACTORKIT_KEEP_ALIVE": "1"}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve(ROOT, cli=[], extra_env=QUICK) as running:
        yield running


def auth(server: Server, actor_id: str = "door") -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token('todo', actor_id, 'client:ann')}"}


def answered(server: Server, within: float = 2.0, **headers: str) -> int:
    """The status of another client's GET of an actor, which must come within ``within``
    seconds."""
    return httpx.get(f"{server.url}/api/todo/door", headers={**auth(server), **headers},
                     timeout=within).status_code


def rss(server: Server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) * 1024  # type: ignore[index]


def raw(server: Server, head: bytes, timeout: float = 3.0) -> bytes:
    """Send ``head`` on a new connection; what the server answers until it closes (or
    ``timeout`` passes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(head)
        got = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and b"\r\n\r\n" not in got:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def status_of(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def request(server: Server, *headers: bytes) -> bytes:
    lines = [b"GET /api/todo/door HTTP/1.1", b"Host: 127.0.0.1",
             b"Authorization: " + auth(server)["Authorization"].encode(), *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


# -- request heads -----------------------------------------------------------------------------

def stream_header(port: int, total: int, seconds: float, out: dict[str, object]) -> None:
    """Send a request head of ``total`` bytes (one header), reading whatever comes back,
    until the server answers and closes, or ``seconds`` pass."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    chunk = b"a" * (256 * 1024)
    pending = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
    sent, got = 0, b""
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as sel, sock:
        sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while time.monotonic() < deadline:
            events = sel.select(0.5)
            try:
                if any(mask & selectors.EVENT_READ for _, mask in events):
                    data = sock.recv(65536)
                    if not data:
                        break
                    got += data
                if sent < total and any(mask & selectors.EVENT_WRITE for _, mask in events):
                    sent += sock.send(pending)
                    pending = chunk
                elif sent >= total:
                    sel.modify(sock, selectors.EVENT_READ)
            except (ConnectionError, BlockingIOError):
                break
    out.update(sent=sent, answer=got)


def test_header_blocks_of_200_mb_are_cut_off_with_431_while_others_are_served(server):
    before = rss(server)
    results: list[dict[str, object]] = [{} for _ in range(4)]
    streams = [threading.Thread(target=stream_header, args=(server.port, 200 * MiB, 10, out))
               for out in results]
    for t in streams:
        t.start()
    statuses = []
    for _ in range(10):  # others, meanwhile
        statuses.append(answered(server))
        time.sleep(0.05)
    for t in streams:
        t.join(15)
    assert statuses == [200] * 10
    for out in results:
        assert status_of(out["answer"]) == 431, out["answer"]  # type: ignore[arg-type]
        assert b"ACTORKIT_MAX_HEADER" in out["answer"]  # type: ignore[operator]
        assert out["sent"] < 32 * MiB  # cut off, not read to the end
    assert rss(server) - before < 32 * MiB


def test_a_head_within_max_header_is_served_one_past_it_gets_431(server):
    assert answered(server, cookie="c=" + "x" * 15_000) == 200  # default limit: 16 KiB
    head = request(server, b"Cookie: c=" + b"x" * 17_000)
    assert status_of(raw(server, head)) == 431


def test_max_headers_are_served_one_more_gets_431(server):
    # Host and Authorization, then padding up to the default limit, 100
    assert status_of(raw(server, request(server, *[b"X-%d: 1" % i for i in range(98)]))) == 200
    answer = raw(server, request(server, *[b"X-%d: 1" % i for i in range(99)]))
    assert status_of(answer) == 431 and b"more than 100 headers" in answer


def test_a_websocket_upgrade_passes_the_same_door(server):
    url = f"{server.ws}/api/todo/door?accessToken={server.token('todo', 'door', 'client:ann')}"
    with websockets.sync.client.connect(url, open_timeout=5) as ws:
        assert ws.recv(timeout=5)  # the first frame: the caller's view
    # three lines of 6,000 bytes: each within what websockets' own parser takes, together
    # past the 16 KiB of request head the server takes
    lines = [(f"X-{i}", "x" * 6_000) for i in range(3)]
    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(url, open_timeout=5, additional_headers=lines)
    assert refused.value.response.status_code == 431
    assert b"ACTORKIT_MAX_HEADER" in refused.value.response.body


# -- time ---------------------------------------------------------------------------------------

def test_slowloris_and_silent_connections_are_closed_after_header_timeout(server):
    slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(200)]
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(100)]
    head = request(server)
    answers: dict[socket.socket, bytes] = {}
    start = time.monotonic()
    try:
        for second in range(4):  # 1 byte a second each (the timeout is 1 s)
            for s in slow:
                if s not in answers:
                    with contextlib.suppress(OSError):
                        s.send(head[second:second + 1])
            if second == 1:
                assert answered(server) == 200  # others, meanwhile
            time.sleep(1 - (time.monotonic() - start) % 1)
            readable, _, _ = select.select([s for s in slow + silent if s not in answers],
                                           [], [], 0)
            for s in readable:
                with contextlib.suppress(OSError):
                    answers[s] = s.recv(65536)
            if len(answers) == len(slow) + len(silent):
                break
        assert all(status_of(answers.get(s, b"")) == 408 for s in slow)
        assert all(answers.get(s) == b"" for s in silent)  # closed, nothing to answer
        assert time.monotonic() - start < 3.5
    finally:
        for s in slow + silent:
            s.close()


def test_an_idle_kept_alive_connection_is_closed_after_keep_alive(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=4) as s:
        s.sendall(request(server))
        answer = s.recv(65536)
        assert status_of(answer) == 200
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:  # the head and the body may come apart
            body += s.recv(65536)
        start = time.monotonic()
        assert s.recv(65536) == b""  # closed by the server, after ACTORKIT_KEEP_ALIVE
        assert 0.5 < time.monotonic() - start < 2.5


# -- how many -----------------------------------------------------------------------------------

def test_past_max_connections_idle_ones_make_room_and_busy_ones_mean_503():
    with serve(ROOT, cli=[], extra_env={"ACTORKIT_MAX_CONNECTIONS": "30"}) as running:
        post = (b"POST /api/todo/door HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: " + auth(running)["Authorization"].encode() +
                b"\r\nContent-Length: 100\r\n\r\n{")
        busy = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(30)]
        try:
            for s in busy:  # each waits for the rest of its body
                s.sendall(post)
            time.sleep(0.3)
            answer = raw(running, request(running))
            assert status_of(answer) == 503 and b"all are busy" in answer
        finally:
            for s in busy:
                s.close()
        idle = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(60)]
        try:
            assert answered(running) == 200
        finally:
            for s in idle:
                s.close()


@contextlib.contextmanager
def open_files(at_least: int) -> Iterator[None]:
    """This process may hold ``at_least`` descriptors (the clients of a test)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < at_least:
        pytest.skip(f"the hard open-files limit here ({hard}) is below the {at_least} the "
                    f"test's own clients need")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, at_least), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def limited(soft: int, hard: int) -> Callable[[], None]:
    """A ``preexec_fn`` that starts the server with these open-files limits."""
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize("hard", [1024, 4096], ids=["hard-1024", "hard-4096"])
def test_1100_idle_connections_under_1024_open_files_leave_the_server_answering(hard):
    with open_files(max(hard, 1500)), \
            serve(ROOT, cli=[], preexec_fn=limited(1024, hard)) as running:
        limits = Path(f"/proc/{running.process.pid}/limits").read_text()
        assert re.search(rf"Max open files\s+{hard}\s+{hard}\s", limits)  # raised to hard
        idle = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(1100)]
        try:
            time.sleep(0.3)
            assert answered(running) == 200
            assert answered(running) == 200
            if hard == 1024:  # no more descriptors: the idle ones longest made room
                poller = select.poll()
                for s in idle:
                    poller.register(s, select.POLLIN)
                closed: set[int] = set()
                deadline = time.monotonic() + 3
                while len(closed) < 1100 - 896 and time.monotonic() < deadline:
                    closed.update(fd for fd, _ in poller.poll(200))
                assert len(closed) >= 1100 - 896
                assert "holds at most 896 connections" in running.read_log()
        finally:
            for s in idle:
                s.close()


# -- a uvicorn of one's own ---------------------------------------------------------------------

def test_uvicorn_run_by_hand_gets_the_same_door_from_the_protocol_class():
    env = {**QUICK, "ACTORKIT_MAX_HEADERS": "20"}
    with serve(ROOT, extra_env=env,
               uvicorn=["--http", "actorkit.server.protocol:HttpProtocol"]) as running:
        assert answered(running) == 200
        answer = raw(running, request(running, *[b"X-%d: 1" % i for i in range(19)]))
        assert status_of(answer) == 431 and b"ACTORKIT_MAX_HEADERS" in answer
        with socket.create_connection(("127.0.0.1", running.port), timeout=4) as s:
            start = time.monotonic()
            assert s.recv(1) == b""  # sent nothing: closed after ACTORKIT_HEADER_TIMEOUT
            assert time.monotonic() - start < 2.5
