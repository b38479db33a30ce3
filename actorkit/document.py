"""The chart document: the JSON Schema every chart file follows (shipped in the package, for
editors too) and the diagnostics (AK101) that say, in a user's words, where a document strays
from it and what to write instead.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import jsonschema

from .diagnostics import Diagnostic
from .schemas import pointer
from .source import Source

__all__ = ["chart_schema", "document_diagnostics"]

NodePath = tuple[str | int, ...]


def chart_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a chart document, as shipped in the package."""
    text = resources.files("actorkit").joinpath("chart.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


_DOC = jsonschema.Draft7Validator(chart_schema())


def document_diagnostics(src: Source) -> list[Diagnostic]:
    """AK101 diagnostics for a chart document that does not match the chart schema, each at
    the node a user would fix, in file order. Empty when the document fits."""
    data = src.data
    if data is None:
        return [Diagnostic(src.path, 1, 1, "AK101", "the file is empty: a chart needs at least "
                                                    "`actor:` and `statechart:`")]
    found: list[Diagnostic] = []
    errors = list(_DOC.iter_errors(data))
    for err in _leaf_errors(errors):
        node = tuple(err.absolute_path)
        if (err.validator == "additionalProperties" and isinstance(err.instance, dict)
                and isinstance(err.schema, Mapping)):
            allowed = sorted((err.schema.get("properties") or {}).keys())
            for key in err.instance:
                if key not in allowed:
                    found.append(Diagnostic(src.path, *src.key_at((*node, key)), "AK101",
                                            _unknown_key(key, allowed, _what(data, node))))
            continue
        pos = src.at(node)
        if err.validator == "pattern" and node == ("context",):  # from propertyNames
            pos = src.key_at((*node, str(err.instance)))
        elif err.instance is None:  # an empty value has no position of its own
            pos = src.key_at(node)
        found.append(Diagnostic(src.path, *pos, "AK101", _explain(err, data)))
    return sorted(found, key=lambda d: (d.line, d.column))


def _leaf_errors(errors: list[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    """The most specific error of each failing node (``oneOf`` explains itself badly)."""
    seen: set[tuple[Any, ...]] = set()
    for err in errors:
        node = tuple(err.absolute_path)
        if node in seen:
            continue
        seen.add(node)
        yield err


def _what(data: Any, node: NodePath) -> str:
    """How a user would name the mapping at ``node``: a state, a transition, or a pointer."""
    def get(path: NodePath) -> Any:
        value = data
        for p in path:
            value = value[p]
        return value

    try:
        if (node and node[-1] == "root state") or (
                len(node) > 1 and node[-2] in ("states", "parallel states")):
            name = get(node).get("name")
            return f"state {name!r}" if name is not None else f"the state at {pointer(node)}"
        if len(node) > 2 and node[-2] == "transitions":
            name = get(node[:-2]).get("name")
            if name is not None:
                return f"transition #{int(node[-1]) + 1} of state {name!r}"
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    if len(node) > 1 and isinstance(node[-1], str):
        owner = _what(data, node[:-1])
        if owner.startswith(("state ", "transition ")):
            return f"`{node[-1]}` of {owner}"
    return f"`{pointer(node)[1:]}`" if node else "the chart"


def _unknown_key(key: str, allowed: list[str], what: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key {key!r} in {what}: did you mean {close[0]!r}?"
    return f"unknown key {key!r} in {what}: use one of {', '.join(allowed)}"


_KINDS = {"object": "a mapping", "array": "a list", "string": "a string",
          "integer": "an integer", "number": "a number", "boolean": "true or false",
          "null": "empty"}


def _kind(value: Any) -> str:
    """The YAML kind of ``value``, in words."""
    for kind, py in (("boolean", bool), ("integer", int), ("number", float), ("string", str),
                     ("array", list), ("object", dict)):
        if isinstance(value, py):
            return f"{_KINDS[kind]} ({value!r})" if kind not in ("array", "object") \
                else _KINDS[kind]
    return "empty" if value is None else type(value).__name__


def _explain(err: jsonschema.ValidationError, data: Any) -> str:
    node = list(err.absolute_path)
    where = pointer(node) or "the document"
    key = node[-1] if node else None
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"{_what(data, tuple(node))} is missing the required key {missing!r}: add it"
    if err.validator == "type" and not node:
        return "a chart is a mapping with at least `actor:` and `statechart:` keys"
    if key == "priority":
        return (f"{_what(data, tuple(node))} is {err.instance!r}: use an integer (higher runs "
                f"first), 'high' or 'low'")
    if err.validator == "type" and isinstance(err.validator_value, str):
        return (f"{_what(data, tuple(node))} must be {_KINDS.get(err.validator_value, '?')}, "
                f"not {_kind(err.instance)}")
    if err.validator == "pattern" and node == ["context"]:
        return (f"context key {err.instance!r} must be a Python identifier (letters, digits, "
                f"_): hooks read it as ctx.context[...] and inline code as a variable")
    if err.validator == "not" and "states" in str(err.validator_value):
        return (f"{_what(data, tuple(node))} has both `states` and `parallel states`: a state "
                f"is either compound or parallel, keep one")
    if err.validator == "oneOf" and key in ("action", "on entry", "on exit"):
        return (f"{_what(data, tuple(node))} must be inline Python (a string) or a list of "
                f"hook names (identifiers)")
    if key == "max_state" and len(node) == 1:
        return (f"max_state is {err.instance!r}: use a number of bytes of at least 1 or a size "
                f"like 512KiB or 4MiB")
    if err.validator == "pattern" and key == "actor":
        return (f"actor type {err.instance!r} must be lower-case kebab-case (it is the URL "
                f"segment in /api/{{actor_type}}/...), e.g. 'todo' or 'game-round'")
    return f"{err.message} (at {where})"
