"""The actor store a project gets when it names none: a SQLite file in the project.

``actorkit serve``, ``create_app()`` and an ``ActorSystem`` built without a store all keep
their actors in the same file: ``ACTORKIT_DB``, else ``.actorkit/actors.db`` in the project
folder (``ACTORKIT_PROJECT``, else the working directory), written as ``ACTORKIT_DURABILITY``
says (``process``, the default, or ``power``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import StoreError
from .sqlite import Durability, SqliteStore

__all__ = ["default_store", "project_folder", "state_dir", "store_path"]


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


def store_path(project: str | Path | None = None, db: str | Path | None = None) -> Path:
    """The project's actor store: ``db``, else ``ACTORKIT_DB``, else
    ``<project>/.actorkit/actors.db``."""
    return Path(db or os.environ.get("ACTORKIT_DB")
                or project_folder(project) / ".actorkit" / "actors.db")


def _durability() -> Durability:
    value = os.environ.get("ACTORKIT_DURABILITY", "process")
    if value == "process":
        return "process"
    if value == "power":
        return "power"
    raise StoreError(f"ACTORKIT_DURABILITY is 'process' or 'power', not {value!r}: unset it "
                     f"for the default (process)")


def default_store(project: str | Path | None = None, *, wait: float = 5.0) -> SqliteStore:
    """The project's SQLite store (see :func:`store_path`), held by this process alone until
    closed; ``wait``: seconds a commit may wait for another process's write lock.
    :class:`StoreError` when it cannot be opened (another server holds it, say)."""
    durability = _durability()
    folder = project_folder(project)
    if not os.environ.get("ACTORKIT_DB"):
        state_dir(folder)  # the default place: made with the .gitignore that keeps it out of git
    return SqliteStore(store_path(folder), durability=durability, wait=wait)
