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
    │   ├── OutputError           ctx.emit() sent an output event its schema rejects
    │   └── StepLimitError        the event never settled (an eventless loop)
    ├── SnapshotError         a snapshot cannot be restored into this chart
    └── AuthError             an access token is missing, invalid, expired or for another actor

Every message says what went wrong and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .diagnostics import Diagnostic

__all__ = [
    "ActorkitError",
    "AuthError",
    "ChartError",
    "ContextError",
    "ContractError",
    "EventRejected",
    "HookError",
    "NondeterminismError",
    "OutputError",
    "SnapshotError",
    "StepError",
    "StepLimitError",
]


class ActorkitError(Exception):
    """Base class of every error actorkit raises on purpose."""


class ChartError(ActorkitError):
    """A chart could not be loaded. ``diagnostics`` lists every problem found, with positions."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        lines = [d.format() for d in self.diagnostics]
        super().__init__("\n".join(lines) if lines else "chart could not be loaded")


class EventRejected(ActorkitError):
    """An event (or the input of a new actor) was refused before anything ran.

    ``pointer`` is the JSON pointer of the offending field ("" for the whole event) and
    ``event_type`` the event's ``type`` when it had one.
    """

    def __init__(self, message: str, *, pointer: str = "", event_type: str | None = None) -> None:
        self.message = message
        self.pointer = pointer
        self.event_type = event_type
        where = f" at {pointer}" if pointer else ""
        prefix = f"event {event_type}" if event_type else "event"
        super().__init__(f"{prefix} rejected{where}: {message}")


class StepError(ActorkitError):
    """An event was accepted, ran, and failed; the actor is exactly as it was before it."""

    event_type: str | None = None


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
        self.pointer = pointer
        super().__init__(message)


class OutputError(StepError):
    """``ctx.emit()`` sent an output event that is not declared or that its schema rejects."""


class StepLimitError(StepError):
    """One event caused more macro steps than allowed: the chart loops without settling."""


class SnapshotError(ActorkitError):
    """A snapshot does not fit the chart it is restored into."""


class AuthError(ActorkitError):
    """An access token does not let this caller reach this actor (HTTP 401)."""
