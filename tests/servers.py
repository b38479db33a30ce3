"""Real servers for the tests: uvicorn in a subprocess on 127.0.0.1, on a free port.

:func:`serve` runs one server on a temporary actor store. :func:`servers` hands out a
:class:`Launcher` that starts servers on one store of the test's choosing, one after another:
stop one (SIGTERM) or kill it (SIGKILL), then start the next on the same store.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from actorkit.auth import create_access_token

SECRET = "test-secret-" + "x" * 32

#: Exit codes of a server stopped with SIGTERM that shut down cleanly.
CLEAN_EXIT = (0, -signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running ``uvicorn actorkit.server:create_app --factory`` and how to reach it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"
        self.log = log

    def token(self, actor_type: str, actor_id: str, caller: str, **kw: object) -> str:
        kind, _, ident = caller.partition(":")
        return create_access_token(SECRET, actor_id, actor_type, ident, kind, **kw)  # type: ignore[arg-type]

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM (uvicorn shuts down cleanly, then re-raises the signal: exit code -15);
        SIGKILL if it is not gone in ``timeout`` seconds. Returns the exit code."""
        if self.running:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int:
        """SIGKILL: the process dies at once, wherever it is. Returns the exit code."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=10)

    def read_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_server(project: Path, db: Path, *, extra_env: dict[str, str] | None = None,
                 timeout: float = 20.0, cli: Sequence[str] | None = None,
                 uvicorn: Sequence[str] = (), preexec_fn: Callable[[], None] | None = None,
                 ) -> Server:
    """Start uvicorn serving ``project`` on the actor store ``db``, on a free port, and wait
    until it answers (``RuntimeError`` if it exits or does not answer within ``timeout``
    seconds; then it is killed). The caller stops it; its log is ``server.log``.

    With ``cli`` (extra arguments, possibly none) the server is ``actorkit serve``, as a user
    starts it, with the limits it sets on uvicorn; else ``uvicorn ... --factory`` and the
    arguments in ``uvicorn``. ``preexec_fn`` runs in the server's process before it starts
    (to set its resource limits, say)."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="actorkit-uvicorn-", suffix=".log")[1])
    env = {**os.environ, "ACTOR_KIT_SECRET": SECRET, "ACTORKIT_PROJECT": str(project),
           "ACTORKIT_DB": str(db), **(extra_env or {})}
    if cli is None:
        command = [sys.executable, "-m", "uvicorn", "actorkit.server:create_app", "--factory",
                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                   *uvicorn]
    else:
        command = [sys.executable, "-m", "actorkit", "serve", "--project", str(project),
                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *cli]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   preexec_fn=preexec_fn)
    server = Server(process, port, log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {server.read_log()}")
        try:
            httpx.get(f"{server.url}/docs", timeout=1.0)
            return server
        except httpx.TransportError:
            if time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"server did not start in time: {server.read_log()}") from None
            time.sleep(0.05)


class Launcher:
    """Starts servers of one project on one actor store (``db``), and keeps track of them."""

    def __init__(self, project: Path, db: Path, extra_env: dict[str, str] | None,
                 timeout: float, cli: Sequence[str] | None = None,
                 **options: Any) -> None:
        self.project = project
        self.db = db
        self.extra_env = extra_env
        self.timeout = timeout
        self.cli = cli
        self.options = options
        self.started: list[Server] = []

    def start(self) -> Server:
        """A new server on the store; the one before must be stopped or killed first."""
        assert not any(s.running for s in self.started), "a server is still running on the db"
        server = start_server(self.project, self.db, extra_env=self.extra_env,
                              timeout=self.timeout, cli=self.cli, **self.options)
        self.started.append(server)
        return server

    def logs(self) -> str:
        return "\n".join(f"--- server log {i} (port {s.port}) ---\n{s.read_log()}"
                         for i, s in enumerate(self.started))


@contextmanager
def servers(project: Path, *, db: Path | None = None, extra_env: dict[str, str] | None = None,
            timeout: float = 20.0, cli: Sequence[str] | None = None,
            **options: Any) -> Iterator[Launcher]:
    """A :class:`Launcher` for ``project`` on the store ``db`` (default: a temporary one,
    removed after); ``cli`` and ``options`` as for :func:`start_server`. Whatever is still
    running afterwards is stopped; on failure every server's log is shown."""
    own = db is None
    folder = Path(tempfile.mkdtemp(prefix="actorkit-db-")) if own else None
    launcher = Launcher(project, db if db is not None else folder / "actors.db",  # type: ignore[operator]
                        extra_env, timeout, cli, **options)
    try:
        yield launcher
    except BaseException:
        print(launcher.logs())
        raise
    finally:
        for server in launcher.started:
            server.stop()
            server.log.unlink(missing_ok=True)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def serve(project: Path, *, extra_env: dict[str, str] | None = None,
          timeout: float = 20.0, cli: Sequence[str] | None = None,
          **options: Any) -> Iterator[Server]:
    """Start uvicorn (or ``actorkit serve``, with ``cli``) serving ``project`` on a temporary
    store; stop it (and show its log on failure) after. ``options`` as for
    :func:`start_server`."""
    with servers(project, extra_env=extra_env, timeout=timeout, cli=cli,
                 **options) as launcher:
        yield launcher.start()
