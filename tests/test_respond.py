"""Answers written straight to uvicorn's connection are the answers uvicorn would write:
the same status line and headers (its date and server), keep-alive or close, the access
log line. Against real servers: `actorkit serve`, and uvicorn with its own protocol."""

from __future__ import annotations

import re
import socket
import time

import orjson
import pytest
from servers import serve
from support import ROOT

PROJECT = ROOT


def exchange(port: int, *requests: bytes, timeout: float = 5.0) -> bytes:
    """Send ``requests`` on one connection and read until it is closed or quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for request in requests:
            sock.sendall(request)
        sock.settimeout(0.5)
        received = b""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if received.count(b"HTTP/1.") >= len(requests):
                    break
                continue
            if not chunk:
                break
            received += chunk
        return received


def answers(raw: bytes) -> list[tuple[str, dict[str, str], bytes]]:
    """The answers in ``raw``: status line, headers (lowercased names), body."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        assert list(headers) == [k.lower() for k in headers]
        size = int(headers["content-length"])
        out.append((lines[0], headers, rest[:size]))
        raw = rest[size:]
    return out


def get(token: str, *, version: bytes = b"1.1", extra: bytes = b"") -> bytes:
    return (b"GET /api/todo/r1 HTTP/" + version + b"\r\nHost: x\r\nAuthorization: Bearer " +
            token.encode() + b"\r\n" + extra + b"\r\n")


@pytest.mark.parametrize("how", ["actorkit serve", "uvicorn"])
def test_answers_are_what_uvicorn_writes_kept_alive_or_closed(how):
    with serve(PROJECT, cli=[] if how == "actorkit serve" else None) as server:
        token = server.token("todo", "r1", "client:ann")
        kept = answers(exchange(server.port, get(token), get(token)))
        assert len(kept) == 2  # one connection, kept alive, two answers
        for status, headers, body in kept:
            assert status == "HTTP/1.1 200 OK"
            assert set(headers) == {"date", "server", "content-type", "content-length"}
            assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", headers["date"])
            assert headers["content-type"] == "application/json"
            assert orjson.loads(body)["snapshot"]["public"] == {"todos": [], "lastSync": None}
        closed = exchange(server.port, get(token, extra=b"Connection: close\r\n"), get(token))
        assert len(answers(closed)) == 1  # answered, then closed: the second never read
        assert answers(closed)[0][1]["connection"] == "close"
        old = answers(exchange(server.port, get(token, version=b"1.0")))
        assert old[0][0] == "HTTP/1.1 200 OK" and old[0][1]["connection"] == "close"
        refused = answers(exchange(server.port, get("nope")))
        assert refused[0][0] == "HTTP/1.1 401 Unauthorized"


def test_every_answer_has_its_access_log_line():
    with serve(PROJECT, cli=["--log-level", "info"]) as server:
        token = server.token("todo", "r2", "client:ann")
        request = get(token).replace(b"/r1", b"/r2?input=%7B%7D")
        assert len(answers(exchange(server.port, request, request))) == 2
        time.sleep(0.2)
        lines = [line for line in server.read_log().splitlines()
                 if '"GET /api/todo/r2?input=%7B%7D HTTP/1.1" 200' in line]
        assert len(lines) == 2


class _Transport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def get_extra_info(self, name: str) -> None:
        return None


@pytest.mark.parametrize(("status", "close", "keep_alive"), [
    (200, False, True), (404, False, True), (413, True, True), (200, False, False)])
def test_the_answer_written_directly_is_byte_for_byte_uvicorns(status, close, keep_alive):
    import asyncio
    import logging

    from uvicorn.protocols.http.flow_control import FlowControl
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

    from actorkit.server.respond import respond

    def cycle() -> tuple[RequestResponseCycle, _Transport]:
        transport = _Transport()
        scope = {"type": "http", "method": "GET", "http_version": "1.1", "client": ("a", 1),
                 "raw_path": b"/api/todo/x", "query_string": b""}
        return RequestResponseCycle(
            scope=scope, transport=transport, flow=FlowControl(transport),  # type: ignore[arg-type]
            logger=logging.getLogger("t"), access_logger=logging.getLogger("t.access"),
            access_log=True, default_headers=[(b"date", b"Mon, 07 Dec 2026 22:00:00 GMT"),
                                              (b"server", b"uvicorn")],
            message_event=asyncio.Event(), expect_100_continue=False, keep_alive=keep_alive,
            on_response=lambda: None), transport

    data = orjson.dumps({"error": "x"})

    async def both() -> tuple[bytes, bytes, bool, bool]:
        direct, written = cycle()
        await respond(direct.send, direct.scope, status, data, close=close)
        assert direct.response_complete
        generic, expected = cycle()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(data)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        await generic.send({"type": "http.response.start", "status": status, "headers": headers})
        await generic.send({"type": "http.response.body", "body": data})
        return written.written, expected.written, written.closed, expected.closed

    mine, theirs, closed, closes = asyncio.run(both())
    assert mine == theirs
    assert closed == closes
