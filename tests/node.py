"""The npm packages the tests run under Node (pinned in tests/js/package-lock.json),
installed on first use with ``npm ci``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

JS = Path(__file__).resolve().parent / "js"


def npm_packages() -> Path:
    """tests/js/node_modules, installed (again when the lock file is newer than it)."""
    npm = shutil.which("npm")
    assert npm is not None, "Node 20 and npm are needed for this test (the CI machine has them)"
    lock = JS / "package-lock.json"
    installed = JS / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS,
                       check=True, timeout=600)
    return JS / "node_modules"
