"""The HTTP front door ``actorkit serve`` runs: uvicorn's httptools protocol with the limits a
server facing clients needs before a request reaches the application.

uvicorn's own protocol reads request heads of any size (a 200 MB header is parsed in
quadratic time) and waits forever for one that never ends, and it accepts connections until
the process runs out of file descriptors, after which every request fails. :class:`HttpProtocol`
holds each connection to the limits in :class:`~actorkit.limits.Limits`:

- ``max_header`` bytes of request line and headers, ``max_headers`` headers: 431, decided
  before the parser sees a byte past the limit;
- ``header_timeout`` seconds to send a whole request head (counted from the connection, or
  from the first byte of the next request on a kept-alive one): closed, 408 if it had begun;
- ``keep_alive`` seconds idle between requests;
- ``max_connections`` open connections, fewer if the open-files limit is lower (see
  :func:`connection_cap`): a new connection past it closes the connection idle the longest
  (kept alive, or still sending its head), or gets 503 when every one is busy.

Use it with a uvicorn of your own::

    uvicorn actorkit.server:create_app --factory --http actorkit.server.protocol:HttpProtocol

The limits come from the ``ACTORKIT_*`` variables (:meth:`Limits.from_env`); a subclass can
set :attr:`HttpProtocol.limits` instead.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import weakref
from collections import OrderedDict
from typing import Any, ClassVar

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from ..limits import Limits

__all__ = ["PATH", "HttpProtocol", "connection_cap", "raise_open_files_limit"]

#: What to give uvicorn's ``--http`` (or ``uvicorn.run(http=...)``).
PATH = "actorkit.server.protocol:HttpProtocol"

log = logging.getLogger("actorkit.server")

#: Descriptors kept for what is not a client connection (the store's files, logs, the
#: listening socket, the event loop), out of the open-files limit; a quarter of small limits.
SPARE_FILES = 128
#: After a refusal, how long (seconds) and how much (bytes) the rest of the request is read
#: and dropped before closing, so that the client reads the answer instead of a reset.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024
#: At most one warning per this many seconds about connections closed or refused at the cap.
WARN_EVERY = 10.0

# A connection's phase: what the next bytes it sends are.
_HEAD = 0  # a request head (line and headers): counted and timed
_BODY = 1  # the body of a request whose head is complete
_NEXT = 2  # the next request (its first byte starts a head)
_DONE = 3  # nothing: refused or upgraded; what comes is dropped


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit where the system allows it (the
    common soft default, 1,024, runs out at about a thousand idle clients). Returns the
    ``(soft, hard)`` limits in force after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # With no hard limit (macOS), the kernel still caps the soft one: ask for less and less.
    wants = [hard] if hard != resource.RLIM_INFINITY else [1 << 20, 1 << 16, 10_240]
    for want in wants:
        if soft == resource.RLIM_INFINITY or want <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            break
        except (ValueError, OSError):
            continue  # not allowed: connection_cap keeps the server within what is
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def connection_cap(limits: Limits, open_files: int, given: int | None = None) -> int:
    """How many connections a server may hold at once: ``limits.max_connections`` (and
    uvicorn's ``limit_concurrency``, ``given``), but never so many that the descriptors
    ``open_files`` allows run out (then accepting fails and every request with it)."""
    cap = limits.max_connections if given is None else min(limits.max_connections, given)
    if open_files != resource.RLIM_INFINITY:
        cap = min(cap, open_files - min(SPARE_FILES, open_files // 4))
    return max(1, cap)


class _Door:
    """What one server's connections share: the limits, and who may be closed when."""

    def __init__(self, limits: Limits, config: Config, loop: asyncio.AbstractEventLoop) -> None:
        soft, _ = raise_open_files_limit()
        self.limits = limits
        self.cap = connection_cap(limits, soft, config.limit_concurrency)
        self.loop = loop
        #: The answers to the requests refused here, made once.
        self.refusal = {
            "header": _refusal(431, f"the request line and headers take more than "
                               f"{limits.max_header:,} bytes (the server's ACTORKIT_MAX_HEADER): "
                               f"send fewer or shorter headers (cookies are the usual cause)"),
            "headers": _refusal(431, f"the request has more than {limits.max_headers:,} "
                                f"headers (the server's ACTORKIT_MAX_HEADERS): send fewer"),
            "late": _refusal(408, f"the request line and headers did not arrive within "
                             f"{limits.header_timeout:g} s (the server's ACTORKIT_HEADER_TIMEOUT):"
                             f" send them whole, then the body"),
            "full": _refusal(503, f"the server holds {self.cap:,} connections and all are busy: "
                             f"try again shortly"),
        }
        # Connections waiting for (the rest of) a request head, and their deadlines; those
        # idle between requests, and since when. Either may be closed to make room. Both
        # are in the order they began to wait (every deadline is the same time after that).
        self.heads: OrderedDict[HttpProtocol, float] = OrderedDict()
        self.idle: OrderedDict[HttpProtocol, float] = OrderedDict()
        self.sweeping: asyncio.TimerHandle | None = None
        self.warned = -WARN_EVERY

    def wait_for_head(self, protocol: HttpProtocol) -> None:
        self.heads[protocol] = self.loop.time() + self.limits.header_timeout
        if self.sweeping is None:
            self.sweeping = self.loop.call_later(self._tick(), self.sweep)

    def _tick(self) -> float:
        return min(1.0, self.limits.header_timeout / 4)

    def sweep(self) -> None:
        """Close the connections whose head is late; run again while any head is awaited."""
        now = self.loop.time()
        heads = self.heads
        while heads:
            protocol, deadline = next(iter(heads.items()))
            if deadline > now:
                break
            del heads[protocol]
            protocol.head_timed_out()
        self.sweeping = self.loop.call_later(self._tick(), self.sweep) if heads else None

    def make_room(self) -> bool:
        """Close the connection that has waited longest for a request (kept alive, or
        still sending its head) to make room for a new one; False if every one is busy."""
        head = next(iter(self.heads.items()), None)
        idle = next(iter(self.idle.items()), None)
        if head is None and idle is None:
            self.warn(f"{self.cap:,} connections open and all busy: new connections get 503")
            return False
        if idle is None or (head is not None
                            and head[1] - self.limits.header_timeout < idle[1]):
            victim = self.heads.popitem(last=False)[0]
        else:
            victim = self.idle.popitem(last=False)[0]
        victim.forget()
        victim.transport.close()
        self.warn(f"{self.cap:,} connections open (the most this server holds): closing "
                  f"the longest idle to make room for new ones")
        return True

    def warn(self, message: str) -> None:
        """Log ``message``, at most once per :data:`WARN_EVERY` seconds (under a flood of
        connections, one line says it all)."""
        now = self.loop.time()
        if now - self.warned >= WARN_EVERY:
            self.warned = now
            log.warning("%s (raise ACTORKIT_MAX_CONNECTIONS or the open-files limit, "
                        "`ulimit -n`, if these are real clients)", message)


def _refusal(status: int, message: str) -> bytes:
    body = orjson.dumps({"error": message})
    return b"".join([STATUS_LINE[status], b"content-type: application/json\r\n",
                     b"content-length: ", str(len(body)).encode(), b"\r\n",
                     b"connection: close\r\n\r\n", body])


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that was refused."""


_doors: weakref.WeakKeyDictionary[ServerState, _Door] = weakref.WeakKeyDictionary()


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol held to the request-head, time and connection limits of
    :class:`~actorkit.limits.Limits` (see the module's documentation)."""

    #: The limits to hold to; ``None``: :meth:`Limits.from_env` when the server starts.
    limits: ClassVar[Limits | None] = None

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        door = _doors.get(server_state)
        if door is None:
            door = _doors[server_state] = _Door(self.limits or Limits.from_env(), config,
                                                self.loop)
        self.door = door
        self.timeout_keep_alive = door.limits.keep_alive  # type: ignore[assignment]
        self.limit_concurrency = None  # the door holds the connections to its cap
        self.phase = _HEAD
        self.head_bytes = 0
        self.dropped = 0

    # -- connections ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        door = self.door
        if len(self.connections) >= door.cap and not door.make_room():
            # Every descriptor the server may use is taken by a busy connection: answer
            # now and close, rather than hold one more descriptor for this one.
            self.phase = _DONE
            transport.write(door.refusal["full"])
            transport.close()
            return
        super().connection_made(transport)
        door.wait_for_head(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:  # refused in connection_made: nothing was set up
            return
        self.forget()
        super().connection_lost(exc)

    def forget(self) -> None:
        """No longer wait for this connection's head, nor offer it to be closed."""
        self.door.heads.pop(self, None)
        self.door.idle.pop(self, None)

    # -- bytes in ------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        phase = self.phase
        if phase == _BODY:
            self._feed(data)
            return
        if phase == _NEXT:  # the first byte of the next request on a kept-alive connection
            self.door.idle.pop(self, None)
            self.door.wait_for_head(self)
            self.phase = phase = _HEAD
            self.head_bytes = 0
        if phase == _DONE:
            self._drop(data)
            return
        self.head_bytes += len(data)
        over = self.head_bytes - self.door.limits.max_header
        if over <= 0:
            self._feed(data)
            return
        # Give the parser only what fits: the head must end within it. What is past the
        # limit is never parsed, so a head of any size costs no more than the limit.
        fits = len(data) - over
        if fits > 0:
            self._feed(data[:fits])
            if self.phase != _HEAD:
                if self.phase != _DONE:
                    self.data_received(data[fits:])
                return
        self._refuse("header")

    def _feed(self, data: bytes) -> None:
        # uvicorn's data_received, with refusals from the callbacks below
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.phase == _DONE:
                return  # refused in a callback, answered there
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.phase = _DONE
            self.send_400_response(msg)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.forget()
                self.phase = _DONE
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def _drop(self, data: bytes) -> None:
        """After a refusal: read and drop the rest of the request, for a while."""
        self.dropped += len(data)
        if self.dropped > LINGER_BYTES:
            self.transport.close()

    # -- parser callbacks ----------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self.phase = _BODY
        self.door.heads.pop(self, None)
        if len(self.headers) > self.door.limits.max_headers:
            self._refuse("headers")
            raise _Refused
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.phase = _NEXT
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.phase == _NEXT and self.timeout_keep_alive_task is not None:
            self.door.idle[self] = self.loop.time()  # kept alive, no next request begun

    # -- refusals ------------------------------------------------------------------------

    def head_timed_out(self) -> None:
        """The head did not arrive in time: 408 if it had begun, else just close."""
        if self.head_bytes and not self.transport.is_closing():
            self._refuse("late")
        else:
            self.phase = _DONE
            self.transport.close()

    def _refuse(self, why: str) -> None:
        """Answer with the refusal ``why`` and close. The rest of the request is read and
        dropped for a moment first (RFC 9112 9.6), so that the client reads the answer
        rather than a connection reset."""
        self.phase = _DONE
        self.forget()
        transport = self.transport
        if transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            transport.close()  # an answer to an earlier request is being written
            return
        transport.write(self.door.refusal[why])
        if transport.can_write_eof():
            transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, transport.close)
