"""``actorkit serve --reload``: which files it watches, and the app each restart makes.

A project's code is its hooks (``.py``), its charts and its schemas (YAML or JSON), in the
project folder or wherever a chart finds them (the hooks module and the schemas file are
looked up from the chart's folder upwards). A change to any of them restarts the server; a
chart broken by the change is reported as ``actorkit lint`` reports it, and the next change
brings the server back.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from fastapi import FastAPI

from ..chart import Chart
from ..errors import ChartError
from .app import create_app

__all__ = ["PATTERNS", "excluded", "folders", "reloaded_app"]

#: The files whose change restarts the server.
PATTERNS = ["*.py", "*.yaml", "*.yml", "*.json"]

# Folders of a project, besides its hidden ones (.venv, .git), that hold no code of its own
# and may hold plenty of files that match PATTERNS.
_NOT_CODE = ("node_modules", "__pycache__")


def folders(project: Path, charts: Iterable[Chart]) -> list[Path]:
    """The folders to watch: the project's, and any other that holds a chart's hooks module
    or schemas file."""
    found = [project.resolve()]
    for chart in charts:
        for file in (chart.file, chart.hooks_file, chart.schemas.path):
            if file:
                folder = Path(file).resolve().parent
                if not any(folder == f or f in folder.parents for f in found):
                    found.append(folder)
    return found


def excluded(project: Path) -> list[str]:
    """The project's folders whose files never restart the server: hidden ones (``.venv``,
    ``.git``, ``.actorkit``) and those in ``_NOT_CODE``."""
    return sorted(str(folder.resolve()) for folder in project.iterdir()
                  if folder.is_dir() and (folder.name.startswith(".") or
                                          folder.name in _NOT_CODE))


def reloaded_app() -> FastAPI:
    """:func:`create_app` for each server process of ``actorkit serve --reload``: a chart
    with errors is printed as ``actorkit lint`` prints it, not as a traceback, and this
    process ends (exit code 1) while the reloader watches on for the fix."""
    try:
        return create_app()
    except ChartError as e:
        print(e, file=sys.stderr)
        print("actorkit serve: fix the charts above (actorkit lint shows them too); the server "
              "starts again when a file changes", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
