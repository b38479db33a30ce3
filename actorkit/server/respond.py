"""Answering an actor request: a JSON body with its length, written in one piece.

Under uvicorn's httptools protocol (what ``actorkit serve`` runs, as
:class:`~actorkit.server.protocol.HttpProtocol`) the answer is written straight to the
connection, with what uvicorn's own ``send`` would have written: its default headers (``date``,
``server``), the access log line, keep-alive or close. uvicorn's ``send`` is generic: two
coroutines, every header matched against two regular expressions, lowercased and inspected,
for an answer whose shape here never changes. Anywhere else (another server, a ``send``
wrapped by middleware) the answer goes as the two ASGI messages.
"""

from __future__ import annotations

from typing import Any

__all__ = ["respond"]

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

# The status line and default headers by (status, the server's default headers): uvicorn
# replaces its list of default headers when the date changes, every second.
_heads: dict[int, bytes] = {}
_heads_for: list[Any] = [None]


async def respond(send: Any, scope: Any, status: int, data: bytes, *,
                  close: bool = False) -> None:
    """Answer with ``status`` and the JSON ``data``; ``close``: close the connection after."""
    cycle = getattr(send, "__self__", None)
    if type(cycle) is not RequestResponseCycle or cycle.response_started or \
            scope["method"] == "HEAD":
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(data)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})
        return
    # What uvicorn's RequestResponseCycle.send does for a start and a whole body.
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected:
        return
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    if cycle.access_log:
        cycle.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope),
                                 scope["method"], get_path_with_query_string(scope),
                                 scope["http_version"], status)
    if close:
        cycle.keep_alive = False
    cycle.transport.write(b"%scontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s"
                          % (_head(cycle.default_headers, status), len(data),
                             b"" if cycle.keep_alive else b"connection: close\r\n", data))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()


def _head(defaults: list[tuple[bytes, bytes]], status: int) -> bytes:
    if _heads_for[0] is not defaults:
        _heads.clear()
        _heads_for[0] = defaults
    head = _heads.get(status)
    if head is None:
        head = _heads[status] = STATUS_LINE[status] + b"".join(
            name.lower() + b": " + value + b"\r\n" for name, value in defaults)
    return head
