"""JSON values as actorkit stores them: exactly, or not at all.

orjson reads and writes every value actorkit keeps, and it changes two kinds silently: it reads
an integer past 64 bits as a float (``2**64 + 1`` comes back as ``1.8446744073709552e19``) and
writes NaN and ±Infinity as ``null``. The server reads what clients send with :func:`loads`,
which refuses such integers (:class:`InexactNumber`); a step's state is checked with
:func:`not_json`, which finds a NaN or an infinity behind a ``null`` of its JSON.
"""

from __future__ import annotations

import json
import marshal
import math
import re
from typing import Any

import orjson

from .errors import excerpt

__all__ = ["INT_MAX", "INT_MIN", "InexactNumber", "NotJSON", "copy", "describe", "has_null",
           "loads", "non_finite", "non_json", "not_json"]

#: The integers orjson reads and writes exactly (and so the integers actorkit stores).
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1

# Every integer with 18 digits or fewer is within range: only a run of 19 digits in the raw
# JSON (rare, and often inside a string) is worth a second, exact reading.
_LONG_DIGITS = re.compile(rb"\d{19}")
# A float in marshal's format 2 is b"g" and 8 bytes of IEEE 754, little-endian: NaN and the
# infinities are those whose 11 exponent bits (the last byte but its sign bit, and the top
# half of the one before) are all set.
_NON_FINITE = re.compile(rb"g[\x00-\xff]{6}[\xf0-\xff][\x7f\xff]")
_search_null = re.compile(rb"null").search


def has_null(data: bytes) -> bool:
    """Whether JSON ``data`` has a ``null``: ``memchr`` to its first ``n`` (most JSON has
    none), a regular expression from there (twice as fast as ``in``)."""
    start = data.find(b"n")
    return start >= 0 and _search_null(data, start) is not None


class InexactNumber(ValueError):
    """JSON with an integer actorkit cannot store exactly. ``pointer`` is where it is;
    ``message`` says what to send instead."""

    def __init__(self, pointer: str, digits: str) -> None:
        self.pointer = pointer = excerpt(pointer, 200)  # a key may be megabytes long
        if len(digits) > 24:
            digits = f"{digits[:10]}...{digits[-6:]} ({len(digits.lstrip('-'))} digits)"
        where = f" at {pointer}" if pointer else ""
        self.message = (f"the integer {digits}{where} is beyond what actorkit stores exactly "
                        f"(-2**63 to 2**64-1): send it as a string")
        super().__init__(self.message)


class _Digits(str):
    """An integer of more digits than any in range, left as text (Python caps the digits it
    converts)."""


def _int(text: str) -> int | str:
    return int(text) if len(text) <= 21 else _Digits(text)


def loads(data: bytes | str) -> Any:
    """``orjson.loads(data)``, refusing (:class:`InexactNumber`) an integer it would read as a
    float. Costs a regular-expression scan unless ``data`` has a run of 19 digits."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        if _LONG_DIGITS.search(raw) is not None:  # perhaps an integer read as an infinity
            _exact(raw)
        raise
    if _LONG_DIGITS.search(raw) is not None:
        _exact(raw)
    return value


def _exact(raw: bytes) -> None:
    """:class:`InexactNumber` for the first integer of ``raw`` out of range."""
    try:
        value = json.loads(raw, parse_int=_int)
    except ValueError:  # not JSON: orjson says why
        return
    found = _inexact(value, "")
    if found is not None:
        raise InexactNumber(*found)


def _inexact(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    elif isinstance(value, _Digits) or (type(value) is int and not INT_MIN <= value <= INT_MAX):
        return path, str(value)
    else:
        return None
    for k, v in items:
        found = _inexact(v, f"{path}/{_escape(k)}")
        if found is not None:
            return found
    return None


class NotJSON(TypeError):
    """A value JSON cannot carry exactly; ``pointer`` is where in it."""

    def __init__(self, message: str, pointer: str) -> None:
        self.pointer = pointer
        super().__init__(message)


def copy(value: Any) -> Any:
    """A deep copy of ``value`` made through JSON, or :class:`NotJSON` if JSON cannot carry
    it exactly (what orjson refuses, NaN, ±Infinity)."""
    try:
        data = orjson.dumps(value)
    except TypeError as e:
        at, bad = non_json(value, "")
        raise NotJSON(f"at {at}: {describe(bad)}" if at else str(e), at) from None
    if data.find(b"n") >= 0 and has_null(data):  # on every event: most have no n at all
        hidden = non_finite(value, "")
        if hidden is not None:
            raise NotJSON(f"at {hidden}: {describe(non_json(value, '')[1])}", hidden)
    return orjson.loads(data)


def not_json(value: Any, data: bytes, where: str) -> str | None:
    """The JSON pointer (under ``where``) of a NaN or infinity in ``value``, whose orjson
    JSON is ``data``, or ``None``. Only a ``null`` in ``data`` can hide one."""
    return non_finite(value, where) if has_null(data) else None


def non_finite(value: Any, where: str) -> str | None:
    """:func:`not_json` once a ``null`` was found: only a float that marshal writes with an
    all-ones exponent can be NaN or an infinity, so ``value`` is walked only in the rare
    case that one may be there, and the check costs a pass or two of C, not a walk."""
    try:
        packed = marshal.dumps(value, 2)
        if b"g" not in packed or _NON_FINITE.search(packed) is None:
            return None
    except ValueError:  # a type marshal refuses (a dict subclass): walk it
        pass
    path, _ = non_json(value, where)
    return path or None


def non_json(value: Any, path: str) -> tuple[str, Any]:
    """The pointer and value of the first thing in ``value`` that JSON cannot carry exactly
    (a type orjson cannot write, a non-string key, NaN, ±Infinity, an integer out of range),
    found by walking it; ``("", None)`` if there is none."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return path or "/", k
            found = non_json(v, f"{path}/{_escape(k)}")
            if found[0] != "":
                return found
        return "", None
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = non_json(v, f"{path}/{i}")
            if found[0] != "":
                return found
        return "", None
    if isinstance(value, float):
        return ("", None) if math.isfinite(value) else (path or "/", value)
    if isinstance(value, int):
        return ("", None) if INT_MIN <= value <= INT_MAX else (path or "/", value)
    if value is None or isinstance(value, str):
        return "", None
    return path or "/", value


def describe(value: Any) -> str:
    """Why ``value``, found by :func:`non_json`, cannot be stored, and what to store instead."""
    if isinstance(value, float):
        return f"{value} is not a JSON number (store null, a number or a string instead)"
    if isinstance(value, int) and not isinstance(value, bool):
        shown = str(value) if abs(value) < 10**24 else f"an integer of {value.bit_length()} bits"
        return (f"{shown} is beyond the integers actorkit stores exactly (-2**63 to 2**64-1): "
                f"store it as a string")
    return (f"{type(value).__name__} is not JSON: store only dicts, lists, strings, numbers, "
            f"booleans and None")


def _escape(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")
