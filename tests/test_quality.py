"""The code base stays typed (mypy --strict, as configured in pyproject.toml) and lint-clean."""

from __future__ import annotations

import subprocess
import sys

from support import ROOT


def test_mypy_strict_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "actorkit", "tests", "bench"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
