"""The actor store a project gets when it names none.

``actorkit serve``, ``create_app()`` and an ``ActorSystem`` built without a store all keep
their actors in the same place (:func:`store_location`): a PostgreSQL database when
``ACTORKIT_STORE`` (or ``DATABASE_URL``) names one, else a SQLite file, ``ACTORKIT_STORE`` or
``ACTORKIT_DB``, else ``.actorkit/actors.db`` in the project folder (``ACTORKIT_PROJECT``,
else the working directory), written as ``ACTORKIT_DURABILITY`` says (``process``, the
default, or ``power``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import Store, StoreError
from .postgres import PostgresStore, is_postgres_url
from .sqlite import Durability, SqliteStore

__all__ = ["open_store", "project_folder", "state_dir", "store_location", "store_path"]


def project_folder(project: str | Path | None = None) -> Path:
    """``project``, else ``ACTORKIT_PROJECT``, else the working directory."""
    return Path(project or os.environ.get("ACTORKIT_PROJECT") or ".")


def state_dir(project: Path) -> Path:
    """The project's ``.actorkit`` folder (actor store, development secret), made on first
    use and kept out of git."""
    folder = project / ".actorkit"
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return folder


def store_location(project: str | Path | None = None,
                   store: str | Path | None = None) -> str | Path:
    """Where the project's actors are: ``store`` (a PostgreSQL URL or a SQLite file), else
    ``ACTORKIT_STORE`` (either), else ``ACTORKIT_DB`` (a SQLite file), else ``DATABASE_URL``
    if it is a PostgreSQL URL, else ``<project>/.actorkit/actors.db``. A URL is returned as
    text, a file as a path."""
    for given in (store, os.environ.get("ACTORKIT_STORE")):
        if given:
            return str(given) if is_postgres_url(str(given)) else Path(given)
    if os.environ.get("ACTORKIT_DB"):
        return Path(os.environ["ACTORKIT_DB"])
    url = os.environ.get("DATABASE_URL", "")
    if is_postgres_url(url):
        return url
    return project_folder(project) / ".actorkit" / "actors.db"


def store_path(project: str | Path | None = None, db: str | Path | None = None) -> Path:
    """The project's SQLite store: as :func:`store_location` finds it; StoreError if that
    is a PostgreSQL database."""
    where = store_location(project, db)
    if isinstance(where, str):
        raise StoreError("the project's actors are in PostgreSQL, not in a SQLite file")
    return where


def _durability() -> Durability:
    value = os.environ.get("ACTORKIT_DURABILITY", "process")
    if value == "process":
        return "process"
    if value == "power":
        return "power"
    raise StoreError(f"ACTORKIT_DURABILITY is 'process' or 'power', not {value!r}: unset it "
                     f"for the default (process)")


def open_store(project: str | Path | None = None, store: str | Path | None = None, *,
               wait: float = 5.0, lock: bool = True) -> Store:
    """The project's actor store (see :func:`store_location`). ``wait``: seconds a call may
    wait for the database, or a commit for another process's lock on a SQLite file; ``lock``
    (SQLite): hold the file for this process alone until closed (a server), else open it
    beside one (to read it). :class:`StoreError` when it cannot be opened."""
    where = store_location(project, store)
    if isinstance(where, str):
        return PostgresStore(where, wait=wait)
    durability = _durability()
    if where == project_folder(project) / ".actorkit" / "actors.db":
        state_dir(project_folder(project))  # made with the .gitignore that keeps it out of git
    return SqliteStore(where, durability=durability, wait=wait, lock=lock)
