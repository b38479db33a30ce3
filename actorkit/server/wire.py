"""What a client sends, read strictly: JSON documents (request bodies, WebSocket frames, JSON
query parameters) and the actor id in a request's path.

A document must be UTF-8 JSON in which no object names a key twice: parsers disagree on which
of two ``"type"`` keys wins, so a proxy or another service could read a different event than
the actor runs. orjson keeps the last one without a word, so :func:`loads` finds duplicates
itself, at the cost of one walk over the parsed value (an event is small).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from .. import jsonvalue
from ..errors import ActorIdError
from ..ids import ACTOR_ID_RULE, check_actor_id

__all__ = ["Malformed", "check_path_id", "loads"]

#: How much of a duplicated key a message quotes.
_EXCERPT = 40

_ENCODED_SLASH = re.compile(rb"%2[fF]")


class Malformed(ValueError):
    """A document that is not strict JSON; the message says what is wrong with it."""


def loads(data: bytes | str) -> Any:
    """The JSON value in ``data``; :class:`Malformed` if it is not JSON, not UTF-8, or names
    a key twice in one object, :class:`~actorkit.jsonvalue.InexactNumber` if it holds an
    integer actorkit cannot store exactly."""
    try:
        value = jsonvalue.loads(data)
    except orjson.JSONDecodeError as e:
        if isinstance(data, bytes):
            try:
                data.decode()
            except UnicodeDecodeError as bad:
                raise Malformed(f"not UTF-8 (byte {bad.start} is not part of a UTF-8 "
                                f"character)") from None
        raise Malformed(f"not JSON ({e})") from None
    kind = type(value)
    if kind is dict or kind is list:
        # Outside strings a ':' only ever ends a key, so without duplicates the document
        # has exactly as many ':' as the parsed value has keys plus ':' inside its strings
        # (and an object with as many ':' as keys of its own has no other key, and no key
        # twice: the common flat event costs one count). A \u escape can spell a ':' that
        # the count would miss: then the exact check decides.
        colons = data.count(b":") if isinstance(data, bytes) else data.count(":")
        if colons > 1 and not (kind is dict and colons == len(value)) and (
                _escaped(data) or _colons(value) != colons):
            _refuse_duplicates(data)
    return value


def _escaped(data: bytes | str) -> bool:
    return (b"\\u" in data) if isinstance(data, bytes) else ("\\u" in data)


def _colons(value: Any) -> int:
    """The keys in ``value`` plus the ':' in its strings (keys and values)."""
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            count += len(item)
            for key in item:
                if ":" in key:
                    count += key.count(":")
            item = item.values()
        for sub in item:
            kind = type(sub)
            if kind is str:
                if ":" in sub:
                    count += sub.count(":")
            elif kind is dict or kind is list:
                stack.append(sub)
    return count


def _refuse_duplicates(data: bytes | str) -> None:
    try:
        # Numbers stay text: only the keys matter here.
        json.loads(data, object_pairs_hook=_unique, parse_int=str, parse_float=str,
                   parse_constant=str)
    except RecursionError:
        raise Malformed("nested too deeply") from None


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                shown = json.dumps(key if len(key) <= _EXCERPT else key[:_EXCERPT] + "...",
                                   ensure_ascii=False)
                raise Malformed(f"the key {shown} appears twice in one object: give each key "
                                f"once")
            seen.add(key)
    return value


def check_path_id(scope: Any, actor_id: str) -> None:
    """Refuse (:class:`~actorkit.ActorIdError`) an actor id that breaks the rule of
    :mod:`actorkit.ids`, as the client sent it: ASGI servers decode the path's %-escapes
    replacing what is not UTF-8 (``%FF`` and ``%FE`` both become U+FFFD, one actor), so the
    raw path is read again, strictly."""
    raw = scope.get("raw_path")
    if raw is not None and b"%" in raw:
        try:
            unquote_to_bytes(raw).decode()
        except UnicodeDecodeError:
            raise ActorIdError(f"Invalid actor id: the path's %-escapes are not UTF-8; "
                               f"{ACTOR_ID_RULE}") from None
        if _ENCODED_SLASH.search(raw) is not None:
            raise ActorIdError(f"Invalid actor id: it holds '/' (as %2F); {ACTOR_ID_RULE}")
    check_actor_id(actor_id)
