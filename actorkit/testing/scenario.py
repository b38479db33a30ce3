"""Scenarios: a run of an actor written out by hand, checked like a generated one.

``actorkit test`` prints a failure it found as a scenario, ready to paste into a test file::

    s = Scenario("charts/todo.yaml")
    s.spawn("client:alice")
    s.send("client:bob", {"type": "ADD_TODO", "text": "0000"})
    s.wait(30)

Each call runs at once, with every check of the property tests after it, so the scenario fails
at the same step, with the same :class:`~actorkit.testing.PropertyFailure`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..actor import Actor
from ..chart import Chart
from ..events import Caller
from .harness import Harness, Invariant, as_chart, named
from .strategies import caller_pool

__all__ = ["Scenario"]


class Scenario:
    """An actor of ``chart`` driven step by step; ``invariants``, ``leaks`` and ``peers`` (the
    charts it tells, whose schemas what it tells must pass) as for
    :func:`~actorkit.testing.machine_for`. Callers are given as ``"client:alice"`` strings or
    :class:`~actorkit.Caller` objects."""

    def __init__(self, chart: Chart | str | Path, *,
                 invariants: Iterable[Invariant | tuple[str, Invariant]] = (),
                 leaks: bool = True, peers: Iterable[Chart | str | Path] = ()) -> None:
        loaded = [as_chart(p) for p in peers]
        self.harness = Harness(as_chart(chart), callers=caller_pool(),
                               invariants=named(invariants), leaks=leaks,
                               peers={p.actor_type: p for p in loaded})

    @property
    def actor(self) -> Actor:
        """The actor under test."""
        if self.harness.actor is None:
            raise RuntimeError("spawn the actor first: s.spawn('client:alice')")
        return self.harness.actor

    def spawn(self, caller: str | Caller, input: Any = None) -> Scenario:
        """Create the actor for ``caller`` with spawn ``input``."""
        self.harness.spawn(_caller(caller), input)
        return self

    def send(self, caller: str | Caller, event: dict[str, Any]) -> Scenario:
        """Send a valid event; it must commit."""
        self.harness.send(_caller(caller), event)
        return self

    def send_invalid(self, caller: str | Caller, event: dict[str, Any]) -> Scenario:
        """Send an event that breaks its schema; it must be rejected and change nothing."""
        self.harness.send_invalid(_caller(caller), event)
        return self

    def wait(self, seconds: float) -> Scenario:
        """Let time pass; the timers that fall due run."""
        self.harness.wait(seconds)
        return self

    def restore(self) -> Scenario:
        """Snapshot the actor and go on with one restored from the snapshot."""
        self.harness.restore()
        return self

    def deliver(self, refused: str | None = None) -> Scenario:
        """Deliver the oldest message the actor told, or (``refused``: why) have its
        receiver refuse it."""
        self.harness.deliver(refused)
        return self

    def connect(self, caller: str | Caller) -> Scenario:
        """``caller`` connects (CONNECT)."""
        self.harness.connect(_caller(caller))
        return self

    def disconnect(self, caller: str | Caller) -> Scenario:
        """``caller`` disconnects (DISCONNECT)."""
        self.harness.disconnect(_caller(caller))
        return self


def _caller(value: str | Caller) -> Caller:
    return value if isinstance(value, Caller) else Caller.parse(value)
