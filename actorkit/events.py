"""Callers and the event objects the statechart sees.

A :class:`Caller` is who sent an event: a ``client`` (a browser, an end user), a ``service`` (a
trusted backend), an ``actor`` (another actor, by ``ctx.tell()``: its id is ``"<type>/<id>"``)
or the ``system`` (the actorkit runtime itself). Hooks and inline code receive
sismic ``Event`` objects; the ones actorkit creates also carry the ``caller``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from sismic.model import Event, InternalEvent

__all__ = ["CALLER_TYPES", "WATCHER", "ActorEvent", "ActorInternalEvent", "Caller", "CallerType"]

CallerType = Literal["client", "service", "actor", "system"]
CALLER_TYPES: tuple[CallerType, ...] = ("client", "service", "actor", "system")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sends an event: ``Caller("client", "alice")``. Private context is keyed by ``id``."""

    type: CallerType
    id: str

    def __post_init__(self) -> None:
        if self.type not in CALLER_TYPES:
            raise ValueError(f"caller type must be one of {', '.join(CALLER_TYPES)}, "
                             f"not {self.type!r}")
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("caller id must be a non-empty string")

    @classmethod
    def client(cls, id: str) -> Caller:
        """A client caller (an end user or browser)."""
        return cls("client", id)

    @classmethod
    def service(cls, id: str) -> Caller:
        """A trusted service caller."""
        return cls("service", id)

    @classmethod
    def system(cls, id: str) -> Caller:
        """The runtime itself (timers, lifecycle events)."""
        return cls("system", id)

    @classmethod
    def actor(cls, actor_type: str, actor_id: str) -> Caller:
        """Another actor, sending with ``ctx.tell()``: its id is ``"<type>/<id>"``."""
        return cls("actor", f"{actor_type}/{actor_id}")

    @property
    def sender(self) -> tuple[str, str] | None:
        """For an ``actor`` caller, the sending actor's ``(type, id)``; else ``None``."""
        if self.type != "actor":
            return None
        actor_type, _, actor_id = self.id.partition("/")
        return actor_type, actor_id

    @classmethod
    def parse(cls, text: str) -> Caller:
        """Parse ``"client:alice"`` (the form the CLI takes)."""
        kind, sep, ident = text.partition(":")
        if not sep or kind not in CALLER_TYPES or not ident:
            raise ValueError(f"caller must look like client:<id> or service:<id>, not {text!r}")
        return cls(kind, ident)

    @classmethod
    def from_json(cls, data: Any) -> Caller:
        """Inverse of :meth:`to_json`."""
        if not isinstance(data, dict):
            raise ValueError(f"a caller is an object with `type` and `id`, not {data!r}")
        return cls(data.get("type"), data.get("id"))  # type: ignore[arg-type]

    def to_json(self) -> dict[str, str]:
        """``{"type": ..., "id": ...}``, the shape Actor Kit uses on the wire."""
        return {"type": self.type, "id": self.id}

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


#: The caller the inspector page watches an actor as: its WebSocket gets every frame, but it
#: is nobody the chart hears of (no CONNECT or DISCONNECT), so looking changes nothing.
WATCHER = Caller("service", "actorkit-inspector")


class ActorEvent(Event):  # type: ignore[misc]
    """An event from a caller: ``name``, ``data`` (the payload) and ``caller``.

    Payload fields read as attributes (``event.text``), as in sismic, except the names that
    are attributes already (``name``, ``data``, ``caller``, ``delay``): use ``event.data[...]``.
    """

    # A payload field named "delay" must never make sismic delay the event.
    delay: ClassVar[int] = 0

    def __init__(self, name: str, data: dict[str, Any], caller: Caller) -> None:
        super().__init__(name)
        self.data = data  # the payload as given: it may hold keys sismic reserves, like "name"
        self.caller = caller

    @property
    def type(self) -> str:
        """The event's type, as Actor Kit names it (same as ``name``)."""
        return str(self.name)


class ActorInternalEvent(InternalEvent):  # type: ignore[misc]
    """An event a hook sent with ``ctx.send()``; it carries the caller of the current step."""

    delay: ClassVar[int] = 0

    def __init__(self, name: str, data: dict[str, Any], caller: Caller) -> None:
        super().__init__(name)
        self.data = data  # the payload as given: it may hold keys sismic reserves, like "name"
        self.caller = caller

    @property
    def type(self) -> str:
        """The event's type (same as ``name``)."""
        return str(self.name)
