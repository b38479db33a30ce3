"""A scripted session with one actor, for ``actorkit run``: try a chart without a server.

A script has one command per line::

    {"type": "ADD_TODO", "text": "milk"}          send as the session's default caller
    service:sync {"type": "SYNC_TODOS", ...}      send as another caller
    wait 30                                       let 30 seconds pass (due timers run)
    view client:bob                               show what a caller sees
    # a comment

Each line gives one JSON result. Time is virtual: it starts at the real time and moves only
with ``wait``, so a script runs the same way every time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .actor import Actor, StepResult
from .chart import Chart
from .errors import ActorkitError
from .events import Caller

__all__ = ["Session", "SessionError"]


class SessionError(ActorkitError):
    """A script line that is not a command (the session cannot go on)."""


@dataclass
class _Clock:
    t: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.t


class Session:
    """One actor driven by script lines; see the module docstring for the commands."""

    def __init__(self, chart: Chart, actor_id: str, *, caller: Caller, input: Any = None,
                 snapshot: Any = None) -> None:
        self.caller = caller
        self.clock = _Clock()
        if snapshot is not None:
            self.actor = Actor.restore(chart, snapshot, clock=self.clock)
            self.clock.t = max(self.clock.t, self.actor.time)
        else:
            self.actor = Actor.spawn(chart, actor_id, caller=caller, input=input,
                                     clock=self.clock)
        self.failures = 0

    def run(self, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
        """Run script lines; yield one result per command."""
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            result = self.command(line, number)
            if "error" in result:
                self.failures += 1
            yield result

    def command(self, line: str, number: int) -> dict[str, Any]:
        """Run one command line."""
        head, _, rest = line.partition(" ")
        if head == "wait":
            return self._wait(rest, number)
        if head == "view":
            who = _caller(rest.strip(), number)
            return {"line": number, "view": self.actor.view(who), "caller": str(who)}
        caller, text = self.caller, line
        if not line.startswith("{"):
            if ":" not in head:
                raise SessionError(
                    f"line {number}: not a command: write a JSON event, `<type>:<id> <JSON "
                    f"event>`, `wait <seconds>` or `view <type>:<id>`: {line}")
            caller, text = _caller(head, number), rest
        try:
            event = json.loads(text)
        except json.JSONDecodeError as e:
            raise SessionError(f"line {number}: not a JSON event ({e.msg}): {line}") from None
        try:
            result = self.actor.send(event, caller)
        except ActorkitError as e:
            return {"line": number, "error": type(e).__name__, "message": str(e)}
        return {"line": number, **_step(result), "view": self.actor.view(caller)}

    def _wait(self, seconds: str, number: int) -> dict[str, Any]:
        try:
            delta = float(seconds)
        except ValueError:
            raise SessionError(f"line {number}: `wait` takes seconds, e.g. `wait 5`") from None
        if delta < 0:
            raise SessionError(f"line {number}: time only moves forward")
        self.clock.t += delta
        steps = self.actor.advance()
        return {"line": number, "waited": delta, "timers": [_step(s) for s in steps],
                "view": self.actor.view(self.caller)}


def _caller(text: str, number: int) -> Caller:
    try:
        return Caller.parse(text)
    except ValueError as e:
        raise SessionError(f"line {number}: {e}") from None


def _step(result: StepResult) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": result.seq, "type": result.type,
                           "caller": str(result.caller), "outputs": list(result.outputs)}
    if not result.handled:
        out["handled"] = False
    if result.timers:
        out["timers"] = [_step(t) for t in result.timers]
    if result.error is not None:
        out["error"] = type(result.error).__name__
        out["message"] = str(result.error)
    return out
