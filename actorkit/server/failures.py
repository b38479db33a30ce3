"""What a client is told when its step fails or its actor cannot be brought back, and what
the server's log gets.

A failure's message is written for whoever runs the server: it quotes a hook's exception (and
whatever that held: another caller's private bucket, a setting of the server), the hooks
file's path, the value a schema refused, which may sit in a bucket only its owner sees.
Outside development a client gets what it may know: the kind of failure, the hook, the type of
the event and a reference; the log gets the details, traceback included, under the same
reference. In development the client gets the whole message too.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from ..errors import (
    BoundError,
    ContextError,
    ContractError,
    DeadlineError,
    HookError,
    NondeterminismError,
    OutputError,
    Quarantined,
    SnapshotError,
    StepError,
    StepLimitError,
)

__all__ = ["Failure", "failure"]

log = logging.getLogger("actorkit")

#: What a client outside development is told happened, by kind (a kind not listed here is
#: told its nearest listed base's text). None of them quotes the error's message.
_TOLD: dict[type[Exception], str] = {
    ContextError: "the step would leave the actor's context outside its schemas",
    ContractError: "a contract of the chart would not hold",
    NondeterminismError: "the chart has more than one transition for it and cannot choose",
    OutputError: "the step emitted an output event its schema refuses",
    StepLimitError: "the event never settled: the chart loops",
    StepError: "the step failed",
    SnapshotError: "the stored actor cannot be brought back",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure as its client sees it: the HTTP status, and the body ``{"error", "kind",
    "type", "ref"}`` (and ``"hook"`` when a hook failed), ``ref`` being the reference of
    the log line with the details."""

    status: int
    body: dict[str, Any]


def failure(error: StepError | SnapshotError | Quarantined, *, dev: bool,
            doing: str) -> Failure:
    """Log ``error`` with its details under a new reference, and return what the client that
    met it is told: the whole message in development (``dev``), else only its kind, hook,
    event type and the reference. A :class:`BoundError` is a 409, told whole and not logged;
    :class:`Quarantined` a 503, not logged (that was done once, when it was quarantined),
    told without the last failure outside development.
    ``doing`` names the request in the log (``"POST todo/list-1"``)."""
    kind = type(error).__name__
    if isinstance(error, Quarantined):
        return Failure(503, {"error": str(error) if dev else error.brief, "kind": kind})
    event_type = getattr(error, "event_type", None)
    if isinstance(error, BoundError):
        # The sender's, not the operator's (the event cannot apply to the actor as it is): not
        # logged, and told as it is, since its message names the bound and quotes no value.
        return Failure(409, {"error": str(error), "kind": kind, "type": event_type})
    ref = secrets.token_hex(4)
    # The traceback of what a hook raised, if that is why: the frames of actorkit that
    # carried it to the request are the same every time.
    cause = error.__cause__ or error
    log.error("%s failed (reference %s): %s: %s", doing, ref, kind, error,
              exc_info=(type(cause), cause, cause.__traceback__))
    body: dict[str, Any] = {"error": str(error) if dev else _told(error, event_type, ref),
                            "kind": kind, "type": event_type, "ref": ref}
    if isinstance(error, HookError | DeadlineError) and error.hook is not None:
        body["hook"] = _hook(error)
    return Failure(500, body)


def _told(error: Exception, event_type: str | None, ref: str) -> str:
    if isinstance(error, HookError):
        what = f"hook {_hook(error)} failed"
    elif isinstance(error, DeadlineError):
        code = f"hook {_hook(error)}" if error.hook is not None else "the step's code"
        what = f"{code} ran past the step's deadline of {error.deadline:g} s"
    else:
        what = next(_TOLD[k] for k in type(error).__mro__ if k in _TOLD)
    on = f" on {event_type}" if event_type else ""
    return (f"{what}{on} (reference {ref}); the actor is as it was. The server's log has the "
            f"details under that reference")


def _hook(error: HookError | DeadlineError) -> str:
    """The hook's name; for inline chart code (whose text may hold anything), where it is."""
    hook = error.hook or ""
    return hook if hook.isidentifier() else f"inline code ({error.where})"
