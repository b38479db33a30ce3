"""What one step of an actor did: the :class:`StepResult` its caller gets, and what sismic's
macro steps of it say (whether it took a transition, on which event, which final state ended
the chart).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sismic.model import MacroStep

from .errors import StepError
from .events import ActorEvent, Caller

__all__ = ["StepResult", "ViewParts", "final_state", "took_event", "took_transition"]

#: What every caller's view of a state is made of, as canonical JSON: the public part, the
#: private buckets by caller id and the state value (see :meth:`Actor.view_parts`).
ViewParts = tuple[bytes, Mapping[str, bytes], bytes]


@dataclass(slots=True)  # made for every step: a frozen dataclass costs 5x as much to make
class StepResult:
    """What one committed step did.

    ``type`` is the event's type (``None`` for a wake-up of ``after()``/``idle()`` guards or a
    delayed sismic event) and ``data`` its payload; ``outputs`` are the events emitted with
    ``ctx.emit()``, ``timers`` the timer steps :meth:`Actor.send` ran first because they were
    due, and ``error`` the failure of a timer step that :meth:`Actor.advance` rolled back and
    dropped. ``handled`` is false for a client or service event that took no transition (none
    for it in the active states, or every guard false): nothing changed, so nothing was
    committed (``seq`` is that of the last committed step) and nothing is journaled.
    ``view_parts`` are :meth:`Actor.view_parts` as the step left them (what every
    caller's view was made of right after it; ``None`` for a failed step).
    ``message`` is the ``(seq, index)`` of a told message the step took in (a receiver's
    step, from an ``actor`` caller) or took out of the outbox (the sender's ``DELIVERED``
    or ``MESSAGE_FAILED`` step); ``None`` for any other step.
    """

    seq: int
    type: str | None
    caller: Caller
    time: float
    data: dict[str, Any] | None = None
    outputs: tuple[dict[str, Any], ...] = ()
    timers: tuple[StepResult, ...] = ()
    error: StepError | None = None
    view_parts: ViewParts | None = field(
        default=None, repr=False, compare=False)
    handled: bool = True
    message: tuple[int, int] | None = None


def final_state(steps: list[MacroStep], root: str | None) -> str:
    """Which final state of the root the chart reached in ``steps`` (sismic leaves it and
    the root at once, the chart then done)."""
    for macro in reversed(steps):
        for micro in reversed(macro.steps):
            exited = micro.exited_states
            if len(exited) >= 2 and exited[-1] == root:
                return exited[0]  # type: ignore[no-any-return]
    return root or "final"


def took_transition(steps: list[MacroStep]) -> bool:
    """Whether any of ``steps`` took a transition or entered or left a state."""
    return any(micro.transition is not None or micro.entered_states or micro.exited_states
               for macro in steps for micro in macro.steps)


def took_event(steps: list[MacroStep], event: ActorEvent | None) -> bool:
    """Whether a transition of ``steps`` was taken on ``event`` itself (not only eventless
    transitions, or transitions on events the chart sent itself)."""
    return any(micro.transition is not None and micro.event is event
               for macro in steps for micro in macro.steps)
