"""The application: every chart of a project served under ``/api``, ready for uvicorn.

``uvicorn actorkit.server:create_app --factory`` serves the charts in ``./charts`` (or the
folder in ``ACTORKIT_PROJECT``) with the secret in ``ACTOR_KIT_SECRET``.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from .. import __version__
from ..auth import check_signing_key
from ..errors import ActorkitError
from ..limits import Limits
from ..lint import load_charts
from ..runtime import ActorSystem
from ..store import Store
from ..store.default import open_store, project_folder, state_dir
from .inspector import create_inspector, enabled
from .openapi import describe
from .router import ActorRoutes

__all__ = ["DEV_SECRET_FILE", "check_address", "create_app", "dev_secret", "resolve_secret",
           "signs_with_development_secret"]

#: Where a project keeps its development secret (random, made on first use, never in code).
DEV_SECRET_FILE = Path(".actorkit") / "dev-secret"


class ServerConfigError(ActorkitError):
    """The server cannot start as configured."""


def dev_secret(project: Path) -> str:
    """The project's development secret, made (random) the first time it is asked for."""
    file = project / DEV_SECRET_FILE
    if file.is_file():
        return file.read_text().strip()
    state_dir(project)
    value = secrets.token_urlsafe(32)
    file.write_text(value + "\n")
    file.chmod(0o600)
    return value


def resolve_secret(project: Path, secret: str | None, *, dev: bool) -> str:
    """The signing secret: ``secret``, else ``ACTOR_KIT_SECRET``, else (in development only)
    the project's development secret. Production without a secret is refused."""
    value = secret or os.environ.get("ACTOR_KIT_SECRET")
    if not value:
        if not dev:
            raise ServerConfigError(
                "ACTOR_KIT_SECRET is not set: a server without its own secret would accept "
                "tokens anyone can mint. Set it (generate one with `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`), or run `actorkit serve` on 127.0.0.1 for "
                "development")
        value = dev_secret(project)
    try:
        check_signing_key(value)
    except ValueError as e:
        raise ServerConfigError(str(e)) from None
    return value


def signs_with_development_secret(project: Path, secret: str, *, dev: bool) -> bool:
    """Whether a server in development (``dev``) signs with the project's development
    secret: then it is a developer's own, and the inspector opens without a token."""
    file = project / DEV_SECRET_FILE
    return dev and file.is_file() and file.read_text().strip() == secret


def check_address(host: str, port: int) -> None:
    """Refuse, before anything starts, an address the server could not listen on: a port
    another program holds, a host that is not this machine's (:class:`ServerConfigError`,
    saying what to do)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as e:
        raise ServerConfigError(f"cannot listen on {host}:{port}: {e}: give --host a name or "
                                f"address of this machine") from None
    bound, missing = False, None
    for family, kind, proto, _, address in found:
        with socket.socket(family, kind, proto) as probe:
            # as asyncio binds for uvicorn: a port whose last connections are still closing
            # is free, and an IPv6 address is for IPv6 only
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as e:
                if e.errno == errno.EADDRNOTAVAIL:  # asyncio skips it (a family not enabled)
                    missing = e
                    continue
                if e.errno == errno.EADDRINUSE:
                    raise ServerConfigError(
                        f"port {port} on {host} is in use by another program (another "
                        f"actorkit serve?): stop it, or choose another port with --port"
                        ) from None
                raise ServerConfigError(f"cannot listen on {host}:{port}: {e.strerror}: "
                                        f"choose another --host or --port") from None
            bound = True
    if not bound and missing is not None:
        raise ServerConfigError(f"cannot listen on {host}:{port}: {missing.strerror}: give "
                                f"--host a name or address of this machine")


class _DenialNoise(logging.Filter):
    """uvicorn's sans-I/O WebSocket protocol logs an error after every refused handshake
    (a bad token is answered with an HTTP 401, as intended), and an error with a traceback
    for every text frame that is not UTF-8 (the client gets the close 1007 that RFC 6455
    asks for): a client's mistakes, which any client could pour into the log; keep them out."""

    NOISE = frozenset({"ASGI callable returned without completing handshake.",
                       "Invalid UTF-8 sequence received from client."})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.NOISE


# A token's value after `accessToken=` or PartySocket's `token=` (up to the next parameter,
# space or quote), and anything shaped like a JWT wherever else it is (a header, a path, a
# parameter of another name).
_TOKEN = re.compile(r"(?<=accessToken=)[^&\s\"']+|(?<=[?&]token=)[^&\s\"']+"
                    r"|eyJ[\w-]*\.[\w-]+\.[\w-]*")


def _has_token(text: str) -> bool:
    return "accessToken=" in text or "token=" in text or "eyJ" in text


def _redact(text: str) -> str:
    """``text`` with every access token in it replaced by ``[redacted]``."""
    if not _has_token(text):
        return text
    return _TOKEN.sub("[redacted]", text)


class _TokenRedaction(logging.Filter):
    """Access tokens never reach a log: WebSockets carry theirs in the query string, which
    uvicorn's access log and its WebSocket lines print (a token is valid for weeks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Every access-log line passes here: the common case (nothing to hide) is kept to a
        # few substring tests, a microsecond.
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        args = record.args
        if type(args) is tuple:
            for arg in args:
                if type(arg) is str and _has_token(arg):
                    record.args = tuple(_redact(a) if isinstance(a, str) else a for a in args)
                    break
        if record.exc_info and not record.exc_text:  # formatted here, once, as handlers would
            record.exc_text = _redact(logging.Formatter().formatException(record.exc_info))
        return True


#: The loggers that print no token: uvicorn's, and each one of actorkit's (a logger's filters
#: see only the records logged on it, not those its children pass up).
TOKEN_FREE_LOGGERS = ("uvicorn.error", "uvicorn.access", "actorkit", "actorkit.server")


def _install_log_filters() -> None:
    """Filter the loggers of uvicorn and of actorkit (once per process)."""
    filters: list[tuple[str, type[logging.Filter]]] = [("uvicorn.error", _DenialNoise)]
    filters += [(name, _TokenRedaction) for name in TOKEN_FREE_LOGGERS]
    for name, kind in filters:
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ServerConfigError(f"{name} is a number of seconds above 0 (or inf), not {raw!r}")
    return value


def create_app(project: str | Path | None = None, *, secret: str | None = None,
               dev: bool | None = None, prefix: str = "/api", store: Store | None = None,
               clock: Callable[[], float] | None = None, cache_ttl: float = 300.0,
               idle_after: float | None = None, limits: Limits | None = None,
               inspector: bool | None = None, parties: str | None = "/parties",
               **fastapi: Any) -> FastAPI:
    """A FastAPI app serving every chart in ``<project>/charts`` at
    ``{prefix}/{actor_type}/{actor_id}``, and its WebSocket also at
    ``{parties}/{actor_type}/{actor_id}``, where PartySocket clients connect (``None``: not).

    ``project`` defaults to ``ACTORKIT_PROJECT`` or the working directory; ``secret`` to
    ``ACTOR_KIT_SECRET``; ``dev`` (development: the project's development secret is allowed,
    and a client whose step fails is told the whole message, not only a reference to the
    log) to ``ACTORKIT_DEV=1``; ``store`` to a SQLite file, ``ACTORKIT_DB`` or
    ``<project>/.actorkit/actors.db``, with ``ACTORKIT_DURABILITY`` (``process``, the default,
    or ``power``). Actors idle for ``idle_after`` seconds leave memory until next touched;
    it defaults to ``ACTORKIT_IDLE_AFTER`` or 300 (``inf``: they stay). ``limits`` defaults
    to :meth:`Limits.from_env` (see the README's "Running in production").
    ``inspector`` (the page at ``/_inspect``) defaults to ``ACTORKIT_INSPECTOR``, else on
    only in development with the project's development secret, where it opens without a
    token; elsewhere it asks for an inspector token.
    Every chart is checked first: any lint error stops it with
    :class:`~actorkit.ChartError` listing them all.
    """
    folder = project_folder(project)
    if dev is None:
        dev = os.environ.get("ACTORKIT_DEV") == "1"
    charts = load_charts([folder / "charts"])
    if limits is None:
        limits = Limits.from_env()
    signing_key = resolve_secret(folder, secret, dev=dev)
    development_secret = signs_with_development_secret(folder, signing_key, dev=dev)
    if inspector is None:
        inspector = enabled(development_secret=development_secret)
    if store is None:
        store = open_store(folder, wait=limits.store_wait)
    if idle_after is None:
        idle_after = _seconds("ACTORKIT_IDLE_AFTER", 300.0)
    options: dict[str, Any] = {"cache_ttl": cache_ttl, "store": store, "limits": limits,
                               "idle_after": idle_after if math.isfinite(idle_after) else None}
    if clock is not None:
        options["clock"] = clock
    system = ActorSystem(charts, **options)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await system.start()
        yield
        await system.close()

    _install_log_filters()
    routes = ActorRoutes(system, secret=signing_key, prefix=prefix, dev=dev, parties=parties)
    app = _App(routes, title="actorkit", version=__version__, lifespan=lifespan, **fastapi)
    app.state.system = system
    # The actor routes go first in the app's own table: matched before the docs routes and
    # without the extra routing layer an included router adds to every request.
    app.router.routes[:0] = routes.router().routes
    if inspector:
        app.router.routes[:0] = create_inspector(system, secret=signing_key, api_prefix=prefix,
                                                 open_to_page=development_secret).routes
    return app


_FASTAPI_HANDLERS = "fastapi.exception_handlers"


class _App(FastAPI):
    """FastAPI, with the actor routes dispatched ahead of its middleware stack when that
    stack would add nothing to them.

    FastAPI's own layers (error, telemetry, body-limit and exception middleware, the route
    table) and its per-request question whether OpenTelemetry is configured cost a served
    event about a fifth of its CPU. The actor endpoints answer every error themselves, so
    while the app has no middleware, error handlers, body limit, root path or debug page of
    the user's, and telemetry is off, they see and return exactly what they would through
    the stack. Telemetry switched on while serving is noticed within a second.
    """

    _direct = False  # decided when the stack is built, on the app's first call
    _otel_on = False
    _otel_until = -math.inf

    def __init__(self, routes: ActorRoutes, **fastapi: Any) -> None:
        self._routes = routes
        super().__init__(**fastapi)

    def openapi(self) -> dict[str, Any]:
        # The actor routes are outside FastAPI's validation (for speed), so it cannot list
        # them: they are described from the charts, once, when the document is first read.
        if not self.openapi_schema:
            routes = self._routes
            self.openapi_schema = describe(super().openapi(), routes.system.charts,
                                           prefix=routes.prefix)
        return self.openapi_schema

    def build_middleware_stack(self) -> Any:
        stack = super().build_middleware_stack()
        # FastAPI's own handlers (HTTP and validation errors) never see an actor request:
        # any other, given to the constructor or added since, might.
        users_handlers = any(getattr(handler, "__module__", None) != _FASTAPI_HANDLERS
                             for handler in self.exception_handlers.values())
        self._direct = not (
            self.user_middleware or self.debug or self.root_path or users_handlers
            or getattr(self, "max_body_size", None) is not None)
        return stack

    def _otel_enabled(self) -> bool:
        telemetry = getattr(self, "_native_telemetry", None)  # FastAPI 0.16x
        if telemetry is None:
            return False
        now = time.monotonic()
        if now >= self._otel_until:
            self._otel_on = bool(telemetry.enabled())
            self._otel_until = now + 1.0
        return self._otel_on

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._direct and scope["type"] != "lifespan" and not self._otel_enabled():
            endpoint = self._routes.match(scope)
            if endpoint is not None:
                scope["app"] = self
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
