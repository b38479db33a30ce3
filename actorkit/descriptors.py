"""SCXML event descriptors: how a transition's ``event:`` matches event names under
``semantics: scxml``."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["descriptors", "matches", "matches_any"]


def descriptors(event: str | None) -> tuple[str, ...]:
    """The descriptors of a transition's ``event:`` (space-separated), each without the
    trailing ``.*`` or ``.`` SCXML ignores (``foo.*`` is ``foo``)."""
    if event is None:
        return ()
    return tuple(d if d == "*" else d.removesuffix(".*").removesuffix(".")
                 for d in event.split())


def matches(descriptor: str, name: str) -> bool:
    """Whether ``descriptor`` matches the event ``name``: equal, a prefix of it followed by a
    dot (``error`` matches ``error.send``), or ``*``."""
    return descriptor == "*" or name == descriptor or (
        name.startswith(descriptor) and name[len(descriptor):len(descriptor) + 1] == ".")


def matches_any(found: Iterable[str], name: str) -> bool:
    """Whether one of the descriptors ``found`` matches ``name``."""
    return any(matches(d, name) for d in found)
