"""Helpers shared by the tests (import as ``from support import ...``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from actorkit import Actor, Caller, Chart, load_chart

ROOT = Path(__file__).resolve().parent.parent
CHARTS = Path(__file__).resolve().parent / "charts"

alice = Caller.client("alice")
bob = Caller.client("bob")
ops = Caller.service("ops")


class FakeClock:
    """A clock tests move by hand: ``clock.t += 5``."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def chart(name: str) -> Chart:
    """A test chart from tests/charts/."""
    return load_chart(CHARTS / f"{name}.yaml")


def run_actorkit(*args: str | Path, cwd: Path = ROOT, timeout: float = 120,
                 ) -> subprocess.CompletedProcess[str]:
    """Run the ``actorkit`` command for real, in a subprocess, with its output captured."""
    return subprocess.run([sys.executable, "-m", "actorkit", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def live_state(actor: Actor) -> bytes:
    """The actor's live state (interpreter, context, timers), not just its last commit:
    what a rollback must put back exactly."""
    return orjson.dumps(actor._snapshot_dict(), option=orjson.OPT_SORT_KEYS)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1].split()[0] != "Z"
    except OSError:
        return False
