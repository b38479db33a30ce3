"""When group commit waits for company: the policy an actor's batch and the SQLite store's
transaction share."""

from __future__ import annotations

__all__ = ["Company"]


class Company:
    """Whether a round (an actor's batch, a store's transaction) should wait a turn of the
    event loop for others to join it: always while rounds get company; after ``alone_after``
    rounds in a row without any, one round in that many, to notice when they would get some
    again. (A lone caller's events would pay the turn for nothing, ~5% of an event.)"""

    __slots__ = ("alone", "alone_after")

    def __init__(self, alone_after: int = 8) -> None:
        self.alone_after = alone_after
        self.alone = 0  # rounds in a row that nobody joined

    def worth_waiting(self) -> bool:
        """Whether the round starting now should wait for company."""
        return self.alone < self.alone_after or not self.alone % self.alone_after

    def ended(self, joined: bool) -> None:
        """A round ended, with company (``joined``) or alone."""
        self.alone = 0 if joined else self.alone + 1
