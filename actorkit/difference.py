"""Where two JSON documents first differ, told so that a person sees what differs.

Cutting both documents at the same length hides the difference whenever it lies past the cut
(a long context that differs in its last todo). :func:`first_difference` walks both to the
first value that differs and names it by its JSON pointer; :meth:`Difference.describe` shows
the two values there, each cut around where their JSON differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["ABSENT", "Difference", "first_difference"]


class _Absent:
    """What a document holds where it has no value (a key it lacks, past the end of a list)."""

    def __repr__(self) -> str:
        return "ABSENT"


#: The value of a :class:`Difference` side that has nothing at the pointer.
ABSENT: Any = _Absent()


@dataclass(frozen=True, slots=True)
class Difference:
    """The first place two documents differ: the RFC 6901 ``pointer`` (``""``: the whole
    document) and the value each holds there (:data:`ABSENT` if it holds none)."""

    pointer: str
    left: Any
    right: Any

    def describe(self, left: str, right: str, *, limit: int = 80) -> str:
        """``/context/todos/3/done: replayed true, stored false``, the two sides named
        ``left`` and ``right``; a value longer than ``limit`` characters of JSON is cut to an
        excerpt that keeps where the two differ."""
        a, b = _excerpts(_shown(self.left), _shown(self.right), limit)
        return f"{self.pointer or 'the whole document'}: {left} {a}, {right} {b}"


def first_difference(left: Any, right: Any) -> Difference | None:
    """The first place (keys in sorted order, as canonical JSON has them) where the JSON
    values ``left`` and ``right`` differ, or ``None`` if they are equal. Values equal in
    Python but not in JSON (``1``, ``1.0`` and ``true``) differ; a tuple counts as a list."""
    return _walk(left, right, "")


def _walk(left: Any, right: Any, pointer: str) -> Difference | None:
    kind = _kind(left)
    if kind != _kind(right):
        return Difference(pointer, left, right)
    if kind == "object":
        for key in sorted(left.keys() | right.keys()):
            where = f"{pointer}/{_escape(key)}"
            if key not in left or key not in right:
                return Difference(where, left.get(key, ABSENT), right.get(key, ABSENT))
            found = _walk(left[key], right[key], where)
            if found is not None:
                return found
        return None
    if kind == "array":
        for i, (a, b) in enumerate(zip(left, right, strict=False)):
            found = _walk(a, b, f"{pointer}/{i}")
            if found is not None:
                return found
        n = min(len(left), len(right))
        if len(left) != len(right):
            return Difference(f"{pointer}/{n}", left[n] if n < len(left) else ABSENT,
                              right[n] if n < len(right) else ABSENT)
        return None
    return None if left == right else Difference(pointer, left, right)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__  # bool apart from int, int apart from float


def _escape(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _shown(value: Any) -> str:
    if value is ABSENT:
        return "nothing"
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # not JSON after all: as Python writes it
        return repr(value)


def _excerpts(a: str, b: str, limit: int) -> tuple[str, str]:
    """``a`` and ``b`` cut to about ``limit`` characters each, from shortly before the first
    character where they differ, so that the cut never hides the difference."""
    if len(a) <= limit and len(b) <= limit:
        return a, b
    same = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        same += 1
    start = max(0, same - limit // 4) if same > limit // 2 else 0
    return _cut(a, start, limit), _cut(b, start, limit)


def _cut(text: str, start: int, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = "..." if start > 0 else ""
    body = text[start:start + limit - len(head) - 3]
    tail = "..." if start + len(body) < len(text) else ""
    return f"{head}{body}{tail} ({len(text):,} characters)"
