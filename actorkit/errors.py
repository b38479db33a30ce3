"""The one exception tree of actorkit.

::

    ActorkitError
    ├── ChartError            a chart (or its hooks/schemas) failed to load; carries diagnostics
    ├── EventRejected         an event, or spawn input, failed validation; nothing ran
    ├── StepError             an event ran and failed; the actor was rolled back to before it
    │   ├── HookError             a hook or inline code raised
    │   ├── NondeterminismError   sismic found conflicting or non-deterministic transitions
    │   ├── ContractError         a sismic contract (before/after/always) does not hold
    │   ├── ContextError          the context left by the step breaks its schema or is not JSON
    │   │   └── BoundError            ... only by going past a bound: the event cannot apply now
    │   ├── OutputError           ctx.emit() sent an output event its schema rejects
    │   ├── StepLimitError        the event never settled (an eventless loop)
    │   └── DeadlineError         the step's code ran past the step's deadline
    ├── Quarantined           the actor is quarantined: its timer or lifecycle steps kept failing
    ├── SnapshotError         a snapshot cannot be restored into this chart
    ├── GraphError            a picture of a chart cannot be drawn as asked (actorkit graph)
    ├── ActorIdError          an actor id that is not allowed (also a ValueError)
    └── AuthError             an access token is missing, invalid, expired or for another actor

Every message says what went wrong and what to do about it, and quotes at most an excerpt of
what a caller sent (:func:`excerpt`): a 10 MB value in an event never comes back whole in an
answer, an error frame or a log line.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .diagnostics import Diagnostic

__all__ = [
    "MAX_MESSAGE",
    "ActorIdError",
    "ActorkitError",
    "AuthError",
    "BoundError",
    "ChartError",
    "ContextError",
    "ContractError",
    "DeadlineError",
    "EventRejected",
    "GraphError",
    "HookError",
    "NondeterminismError",
    "OutputError",
    "Quarantined",
    "SnapshotError",
    "StepError",
    "StepLimitError",
    "excerpt",
    "utc_time",
]

#: Characters an error message keeps at most (about: with a note of what was left out).
MAX_MESSAGE = 500


def excerpt(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and its end around a
    note of how many characters were left out: messages that quote what a caller sent stay
    short whatever was sent, and keep what follows the quote (``... is too long``)."""
    if len(text) <= limit:
        return text
    head, tail = limit * 3 // 5, limit // 5
    return f"{text[:head]} … [{len(text) - head - tail:,} characters left out] … {text[-tail:]}"


class ActorkitError(Exception):
    """Base class of every error actorkit raises on purpose. A message longer than
    :data:`MAX_MESSAGE` characters is cut to an :func:`excerpt`."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(excerpt(a) if isinstance(a, str) else a for a in args))

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross to and from the worker processes that run long steps; the default
        # pickling calls the class with the message only, which keyword-only fields break.
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[ActorkitError], args: tuple[Any, ...],
             state: dict[str, Any]) -> ActorkitError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ChartError(ActorkitError):
    """A chart could not be loaded. ``diagnostics`` lists every problem found, with positions."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        lines = [d.format() for d in self.diagnostics]
        # Every diagnostic, however many: they come from the operator's own files.
        Exception.__init__(self, "\n".join(lines) if lines else "chart could not be loaded")


class EventRejected(ActorkitError):
    """An event (or the input of a new actor) was refused before anything ran.

    ``pointer`` is the JSON pointer of the offending field ("" for the whole event) and
    ``event_type`` the event's ``type`` when it had one.
    """

    def __init__(self, message: str, *, pointer: str = "", event_type: str | None = None) -> None:
        # Each part may quote what was sent (a field, a key, a type): each is an excerpt.
        self.message = excerpt(message)
        self.pointer = excerpt(pointer, 200)
        self.event_type = excerpt(event_type, 100) if event_type is not None else None
        where = f" at {self.pointer}" if pointer else ""
        prefix = f"event {self.event_type}" if event_type else "event"
        super().__init__(f"{prefix} rejected{where}: {self.message}")


class StepError(ActorkitError):
    """An event was accepted, ran, and failed; the actor is exactly as it was before it."""

    event_type: str | None = None
    #: the step's own message, when the message says more (what bringing an actor back
    #: made of it)
    step_message: str | None = None


class HookError(StepError):
    """A hook function (or inline chart code) raised. The original exception is ``__cause__``."""

    def __init__(self, message: str, *, hook: str, where: str) -> None:
        self.hook = hook
        self.where = where
        super().__init__(message)


class NondeterminismError(StepError):
    """sismic found two enabled transitions it cannot choose between."""


class ContractError(StepError):
    """A contract condition of the chart does not hold."""


class ContextError(StepError):
    """The context the step left behind breaks its schema or is not plain JSON."""

    def __init__(self, message: str, *, pointer: str = "") -> None:
        self.pointer = excerpt(pointer, 200)
        super().__init__(message)


class BoundError(ContextError):
    """The step would take the context past a bound its schema sets (``maxItems``,
    ``maxLength``, ``maximum``, ``minimum``, ...) or the actor's state past its size limit:
    the event cannot apply to the actor as it is now. The sender's error (HTTP 409), not
    the chart's; the actor is as it was."""


class OutputError(StepError):
    """``ctx.emit()`` sent an output event that is not declared or that its schema rejects."""


class StepLimitError(StepError):
    """One event caused more macro steps than allowed: the chart loops without settling."""


class DeadlineError(StepError):
    """The step's code was still running when the step's deadline passed. ``hook`` names the
    code that was running (``None`` if it was no hook or inline code) and ``deadline`` the
    seconds the step had."""

    def __init__(self, message: str, *, hook: str | None, where: str | None,
                 deadline: float) -> None:
        self.hook = hook
        self.where = where
        self.deadline = deadline
        super().__init__(message)


class Quarantined(ActorkitError):
    """The actor is quarantined: its timer or lifecycle steps kept failing, so it runs
    nothing until an operator lifts the quarantine. ``since`` (epoch seconds) and ``reason``
    say when and why; ``brief`` is the message without the reason's details (which may quote
    a hook's exception), for clients outside development."""

    def __init__(self, message: str, *, since: float, reason: str, brief: str = "") -> None:
        self.since = since
        self.reason = reason
        self.brief = brief or message
        super().__init__(message)

    @classmethod
    def of(cls, actor_type: str, actor_id: str, info: Mapping[str, Any]) -> Quarantined:
        """The error for an operation on the actor quarantined as ``info`` (``{"since",
        "reason"}``) says: since when, how to lift the quarantine, and why."""
        since = utc_time(float(info["since"]))
        name = f"{actor_type}/{actor_id}"
        return cls(
            f"{name} is quarantined since {since} and runs nothing until the quarantine is "
            f"lifted: fix the chart, then lift it with `actorkit quarantine lift {actor_type} "
            f"{actor_id}` (server stopped) or `DELETE /api/{actor_type}/{actor_id}/quarantine` "
            f"with a service token. Why: {info['reason']}",
            since=float(info["since"]), reason=str(info["reason"]),
            brief=f"{name} is quarantined since {since}: its timer or lifecycle steps kept "
                  f"failing, so it runs nothing until the server's operator lifts the "
                  f"quarantine (the server's log says why)")


def utc_time(seconds: float) -> str:
    """Epoch ``seconds`` as messages show them: ``2026-12-07 22:48:09 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


class SnapshotError(ActorkitError):
    """A snapshot does not fit the chart it is restored into."""


class GraphError(ActorkitError):
    """A picture of a chart cannot be drawn as asked: a configuration or a coverage file that
    does not fit the chart, or Graphviz missing for SVG (see :mod:`actorkit.graph`)."""


class ActorIdError(ActorkitError, ValueError):
    """An actor id breaks the rule of :mod:`actorkit.ids` (too long, a control character, a
    ``/``, not UTF-8): nothing was created (HTTP 400)."""


class AuthError(ActorkitError):
    """An access token does not let this caller reach this actor (HTTP 401)."""
