"""Query strings and their parameters, parsed once per request and read strictly: UTF-8, each
parameter given at most once, numbers in ASCII digits within their bounds, JSON as
:func:`~actorkit.server.wire.loads` takes it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from .. import jsonvalue
from ..errors import excerpt
from .wire import Malformed, loads

__all__ = ["MAX_DIGITS", "BadRequest", "Query"]

#: Digits a whole number parameter may have: it fits in 64 bits (SQLite's integers).
MAX_DIGITS = 18


class BadRequest(Exception):
    """A request parameter that cannot be used (HTTP 400). The message may quote it: at
    most an excerpt."""

    def __init__(self, message: str) -> None:
        self.message = excerpt(message)


class Query:
    """The query string of a request, parsed once (:class:`BadRequest` if it is not UTF-8).

    Parameters read through it must be given once: a second ``timeout`` or ``accessToken``
    is refused rather than one of them silently chosen. Others are left alone.
    """

    __slots__ = ("_repeated", "values")

    def __init__(self, scope: Any) -> None:
        raw = scope.get("query_string", b"")
        self.values: dict[str, str] = {}
        self._repeated: set[str] | None = None
        if not raw:
            return
        try:
            pairs = parse_qsl(raw.decode(), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("Invalid query string: it is not UTF-8 once its %-escapes are "
                             "decoded") from None
        values = self.values
        for name, value in pairs:
            if name in values:
                if self._repeated is None:
                    self._repeated = set()
                self._repeated.add(name)
            values[name] = value

    def get(self, name: str, default: str | None = None) -> str | None:
        """The parameter ``name`` (``default`` when absent)."""
        if self._repeated is not None and name in self._repeated:
            raise BadRequest(f"Invalid {name}: given more than once; give it once")
        return self.values.get(name, default)

    def json(self, name: str) -> Any:
        """The JSON value of the parameter ``name`` (``None`` when absent)."""
        raw = self.get(name)
        if raw is None:
            return None
        try:
            return loads(raw)
        except Malformed as e:
            raise BadRequest(f"Invalid {name}: {e}") from None
        except jsonvalue.InexactNumber as e:
            raise BadRequest(f"Invalid {name}: {e.message}") from None

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None,
                unit: str = "") -> int:
        """The whole number ``name`` (``default`` when absent), in ASCII digits (a leading
        ``-`` only where ``minimum`` is negative), from ``minimum`` to ``maximum`` (or to
        :data:`MAX_DIGITS` digits)."""
        raw = self.get(name)
        if raw is None:
            return default
        digits = raw[1:] if raw[:1] == "-" and minimum < 0 else raw
        # str.isdigit() holds for "²", which int() refuses; int() takes "٣", " 3", "+3" and
        # "3_000", and a long string costs it quadratic time: only ASCII digits reach it,
        # and few enough of them.
        value = int(raw) if (digits.isascii() and digits.isdigit() and
                             len(digits) <= MAX_DIGITS) else None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bounds = (f"from {minimum} to {maximum}" if maximum is not None else
                      f"of at least {minimum} and at most {MAX_DIGITS} digits")
            raise BadRequest(f"Invalid {name}: a whole number{unit} {bounds}, in digits 0-9")
        return value
