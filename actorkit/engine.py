"""sismic, tuned for actors: memoised tree queries, an event-aware interpreter, a settable clock.

sismic recomputes ancestors, descendants and depths by walking the state tree on every step
(see the profile in BENCHMARKS.md). A loaded chart never changes, so :func:`freeze` memoises
those queries on the shared ``Statechart``. :class:`ActorInterpreter` remembers which event the
current macro step consumed, so entry and exit hooks can receive it (sismic does not pass it).
"""

from __future__ import annotations

from typing import Any

from sismic.clock import Clock
from sismic.interpreter import Interpreter
from sismic.model import Event, MacroStep, Statechart

__all__ = ["ActorInterpreter", "FrozenStatechart", "StepClock", "freeze"]


class FrozenStatechart(Statechart):  # type: ignore[misc]
    """A ``Statechart`` that will not change again, so its tree queries are memoised.

    Lists are copied on the way out: sismic's callers own what they get back.
    """

    _memo: dict[tuple[Any, ...], Any]

    def _remember(self, key: tuple[Any, ...], compute: Any) -> Any:
        memo = self._memo
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = compute()
            return value

    def ancestors_for(self, name: str) -> list[str]:
        return list(self._remember(("a", name), lambda: Statechart.ancestors_for(self, name)))

    def descendants_for(self, name: str) -> list[str]:
        return list(self._remember(("d", name), lambda: Statechart.descendants_for(self, name)))

    def depth_for(self, name: str) -> int:
        return self._remember(("p", name), lambda: Statechart.depth_for(self, name))  # type: ignore[no-any-return]

    def least_common_ancestor(self, name_first: str, name_second: str) -> str | None:
        return self._remember(  # type: ignore[no-any-return]
            ("l", name_first, name_second),
            lambda: Statechart.least_common_ancestor(self, name_first, name_second))

    def leaf_for(self, names: Any) -> list[str]:
        key = frozenset(names)
        return list(self._remember(("f", key), lambda: Statechart.leaf_for(self, key)))

    @property
    def transitions(self) -> list[Any]:
        # sismic returns a fresh copy on each call (once per step); nobody mutates it.
        return self._transitions  # type: ignore[no-any-return]

    def _frozen(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a loaded actorkit chart is shared by its actors and cannot be changed")

    add_state = remove_state = rename_state = move_state = _frozen
    add_transition = remove_transition = rotate_transition = copy_from_statechart = _frozen


def freeze(statechart: Statechart) -> FrozenStatechart:
    """Turn a freshly imported ``Statechart`` into a :class:`FrozenStatechart` (in place)."""
    statechart.__class__ = FrozenStatechart
    frozen: FrozenStatechart = statechart  # type: ignore[assignment]
    frozen._memo = {}
    return frozen


class StepClock(Clock):  # type: ignore[misc]
    """A clock the actor sets before each step: every step runs at one known instant."""

    def __init__(self, time: float = 0.0) -> None:
        self.now = time

    @property
    def time(self) -> float:
        return self.now


class ActorInterpreter(Interpreter):  # type: ignore[misc]
    """An ``Interpreter`` that knows the event its current macro step consumed and the
    earliest ``after()``/``idle()`` deadline its guards were waiting for."""

    current_event: Event | None = None
    #: Earliest time a time-based guard evaluated in the latest macro step becomes true.
    wakeup: float | None = None

    def execute_once(self) -> MacroStep | None:
        self.current_event = None
        self.wakeup = None
        return super().execute_once()

    def _select_event(self, *, consume: bool = False) -> Event | None:
        event = super()._select_event(consume=consume)
        if consume:
            self.current_event = event
        return event

    def note_deadline(self, due: float) -> None:
        """Called by time-based guards that are still false: wake the actor up at ``due``."""
        if self.wakeup is None or due < self.wakeup:
            self.wakeup = due
