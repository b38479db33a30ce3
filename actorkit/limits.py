"""The limits a server holds everything to: time per step, bytes per request, socket, cache,
page and actor, and what the HTTP server accepts before a request reaches actorkit.

Every limit has a default meant for a public server and an environment variable that sets it
(``ACTORKIT_STEP_DEADLINE=2``, ``ACTORKIT_MAX_BODY=256KiB``); :meth:`Limits.from_env` reads
them all, and refuses a value it cannot use with a message that says what it takes.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import ActorkitError

__all__ = ["Limits", "LimitsError", "parse_bytes"]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

_UNITS = {"": 1, "b": 1, "k": KiB, "kb": KiB, "kib": KiB, "m": MiB, "mb": MiB, "mib": MiB,
          "g": GiB, "gb": GiB, "gib": GiB}
_SIZE = re.compile(r"\s*(\d+)\s*([a-z]*)\s*")


class LimitsError(ActorkitError):
    """A limit is set to something it cannot be."""


def parse_bytes(text: str) -> int:
    """``"1048576"``, ``"512KiB"``, ``"4M"`` or ``"1GiB"`` as a number of bytes (K, M and G
    are powers of 1024, with or without ``iB``/``B``). ``ValueError`` for anything else."""
    match = _SIZE.fullmatch(text.lower())
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"not a size: {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _setting(default: Any, env: str, doc: str, kind: str) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc, "kind": kind})


@dataclass(frozen=True)
class Limits:
    """Every limit of a server. Make one with :meth:`from_env`, or directly to override some
    (``Limits(step_deadline=1.0)``), and pass it to ``create_app(limits=...)``."""

    # -- steps -------------------------------------------------------------------------------
    step_deadline: float = _setting(
        5.0, "ACTORKIT_STEP_DEADLINE", "seconds a step's hooks may run before the step fails "
        "(a chart's own `deadline:` takes precedence)", "seconds")
    step_inline: float = _setting(
        0.05, "ACTORKIT_STEP_INLINE", "seconds a step may run in the server's event loop; one "
        "that runs longer is rolled back and run again in a worker process, where the "
        "deadline applies", "seconds")
    step_workers: int = _setting(
        1, "ACTORKIT_STEP_WORKERS", "worker processes for steps that run long (started when "
        "first needed)", "count")
    step_memory: int = _setting(
        1 * GiB, "ACTORKIT_STEP_MEMORY", "bytes of data a worker process may allocate; a step "
        "past it fails with MemoryError", "bytes")
    stop_grace: float = _setting(
        1.0, "ACTORKIT_STOP_GRACE", "seconds requests and steps under way get to finish when "
        "`actorkit serve` is stopped (Ctrl-C, SIGTERM); then they are cancelled, rolled back",
        "seconds")
    quarantine_after: int = _setting(
        3, "ACTORKIT_QUARANTINE_AFTER", "timer or lifecycle steps of one actor that may fail "
        "in a row before the actor is quarantined", "count")
    # -- what a caller sends -----------------------------------------------------------------
    max_body: int = _setting(
        1 * MiB, "ACTORKIT_MAX_BODY", "bytes of one HTTP request body or WebSocket message",
        "bytes")
    max_wait: float = _setting(
        60.0, "ACTORKIT_MAX_WAIT", "seconds a `waitForState`/`waitForEvent` request may wait "
        "(a longer `timeout` is refused with 400)", "seconds")
    store_wait: float = _setting(
        5.0, "ACTORKIT_STORE_WAIT", "seconds a commit may wait while another process holds the "
        "SQLite store's write lock (the server goes on serving meanwhile); past it, 503",
        "seconds")
    # -- what the server holds ---------------------------------------------------------------
    max_state: int = _setting(
        1 * MiB, "ACTORKIT_MAX_STATE", "bytes of one actor's stored state (its snapshot); a "
        "step that would grow it past this is refused", "bytes")
    socket_buffer: int = _setting(
        1 * MiB, "ACTORKIT_SOCKET_BUFFER", "bytes of frames that may wait for one WebSocket "
        "that does not read; past it the socket is closed (the client resumes when it "
        "reconnects)", "bytes")
    socket_stall: float = _setting(
        10.0, "ACTORKIT_SOCKET_STALL", "seconds a WebSocket with frames waiting may take none of "
        "them before it is closed", "seconds")
    view_cache: int = _setting(
        1 * MiB, "ACTORKIT_VIEW_CACHE", "bytes of recent views an actor keeps for clients that "
        "reconnect", "bytes")
    reconnect_grace: float = _setting(
        1.0, "ACTORKIT_RECONNECT_GRACE", "seconds a caller's last WebSocket may stay closed "
        "before DISCONNECT is sent; reconnecting sooner sends neither DISCONNECT nor CONNECT",
        "seconds")
    journal_page: int = _setting(
        1 * MiB, "ACTORKIT_JOURNAL_PAGE", "bytes of one page of `/events` (a page holds at "
        "least one entry)", "bytes")
    # -- the HTTP server (actorkit serve) ----------------------------------------------------
    max_header: int = _setting(
        16 * KiB, "ACTORKIT_MAX_HEADER", "bytes of a request's line and headers (431 past it)",
        "bytes")
    max_headers: int = _setting(
        100, "ACTORKIT_MAX_HEADERS", "headers in one request (431 past it)", "count")
    header_timeout: float = _setting(
        10.0, "ACTORKIT_HEADER_TIMEOUT", "seconds a client has to send a whole request head "
        "before its connection is closed", "seconds")
    keep_alive: float = _setting(
        5.0, "ACTORKIT_KEEP_ALIVE", "seconds an idle keep-alive connection stays open", "seconds")
    max_connections: int = _setting(
        10_000, "ACTORKIT_MAX_CONNECTIONS", "open connections (HTTP and WebSocket) the server "
        "holds at once (fewer if the open-files limit is lower); past it the one idle longest "
        "is closed, or the new one gets 503 if none is idle", "count")

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _check(f.name, f.metadata["kind"],
                                                    getattr(self, f.name)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> Limits:
        """The limits set in ``environ`` (default: ``os.environ``), the defaults elsewhere;
        ``given`` values win over both. :class:`LimitsError` for a value that cannot be
        used, naming the variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is not None and f.name not in given:
                values[f.name] = _parse(f.metadata["env"], f.metadata["kind"], raw)
        return cls(**values, **given)

    def replace(self, **changes: Any) -> Limits:
        """A copy with ``changes``."""
        return replace(self, **changes)

    @staticmethod
    def settings() -> list[tuple[str, str, str, str]]:
        """Every limit as ``(field, environment variable, default, what it bounds)``, for
        documentation and ``--help``."""
        return [(f.name, f.metadata["env"], _show(f.metadata["kind"], f.default),
                 f.metadata["doc"]) for f in fields(Limits)]


def _check(name: str, kind: str, value: Any) -> Any:
    if kind == "seconds":
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 \
                or math.isnan(value):
            raise LimitsError(f"limit {name} is a number of seconds above 0, not {value!r}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        unit = "bytes" if kind == "bytes" else "a whole number"
        raise LimitsError(f"limit {name} is {unit} of at least 1, not {value!r}")
    return value


def _parse(env: str, kind: str, raw: str) -> Any:
    try:
        if kind == "seconds":
            value: Any = float(raw)
            if not value > 0:
                raise ValueError
        elif kind == "bytes":
            value = parse_bytes(raw)
        else:
            value = int(raw)
        if kind != "seconds" and value < 1:
            raise ValueError
    except ValueError:
        takes = {"seconds": "a number of seconds above 0 (or inf)",
                 "bytes": "a size in bytes, like 1048576, 512KiB or 4MiB",
                 "count": "a whole number of at least 1"}[kind]
        raise LimitsError(f"{env} is {takes}, not {raw!r}") from None
    return value


def _show(kind: str, value: Any) -> str:
    if kind == "seconds":
        return f"{value:g} s"
    if kind == "bytes":
        for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
            if value % size == 0:
                return f"{value // size} {unit}"
        return f"{value} bytes"
    return f"{value:,}"
