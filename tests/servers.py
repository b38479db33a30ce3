"""Real servers for the tests: uvicorn in a subprocess on 127.0.0.1, on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from actorkit.auth import create_access_token

SECRET = "test-secret-" + "x" * 32


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


@contextmanager
def serve(project: Path, *, extra_env: dict[str, str] | None = None,
          timeout: float = 20.0) -> Iterator[Server]:
    """Start uvicorn serving ``project``; stop it (and show its log on failure) after."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="actorkit-uvicorn-", suffix=".log")[1])
    db = Path(tempfile.mkdtemp(prefix="actorkit-db-")) / "actors.db"
    env = {**os.environ, "ACTOR_KIT_SECRET": SECRET, "ACTORKIT_PROJECT": str(project),
           "ACTORKIT_DB": str(db), **(extra_env or {})}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "actorkit.server:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text() if log.exists() else ''}")
            try:
                httpx.get(f"{server.url}/docs", timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start in time") from None
                time.sleep(0.1)
        yield server
    except BaseException:
        print(f"--- server log ---\n{log.read_text(errors='replace')}")
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.unlink(missing_ok=True)
        shutil.rmtree(db.parent, ignore_errors=True)
