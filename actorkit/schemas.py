"""The schemas file of an actor: JSON Schemas for its input, events by caller type, outputs and
context, compiled once and used to check every event before it runs.

A schemas file (YAML or JSON) looks like::

    input:   {type: object, properties: {...}}     # spawn input (default: the empty object)
    public:  {...}                                 # context.public
    private: {...}                                 # each caller's context.private bucket
    client:  {ADD_TODO: {properties: {text: {type: string}}, required: [text]}}
    service: {SYNC_TODOS: {...}}
    actor:   {GAME_OVER: {...}}                    # events other actors send with ctx.tell()
    output:  {TODO_ADDED: {...}}
    internal: [TICK]                               # events only the chart itself sends
    definitions: {todo: {...}}                     # shared, reachable as "#/definitions/todo"

An event schema describes the event object without its ``type``. An object schema that does not
say otherwise gets ``additionalProperties: false``: unknown fields are refused, not ignored.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, NamedTuple

import jsonschema
import jsonschema_rs

from . import jsonvalue
from .diagnostics import Diagnostic
from .errors import EventRejected, excerpt
from .source import Source

__all__ = [
    "BOUNDS",
    "CALLER_SECTIONS",
    "RESERVED_FIELDS",
    "SYSTEM_EVENTS",
    "ActorSchemas",
    "Problem",
    "Validator",
    "schemas_from_source",
    "to_json",
]

#: Events only the runtime sends, with the data each carries.
SYSTEM_EVENTS: frozenset[str] = frozenset(
    {"INITIALIZE", "RESUME", "CONNECT", "DISCONNECT", "MIGRATE", "MESSAGE_FAILED"}
)
#: Fields an event may never carry: actorkit sets them itself.
RESERVED_FIELDS: frozenset[str] = frozenset({"type", "caller"})
CALLER_SECTIONS: tuple[Literal["client"], Literal["service"], Literal["actor"]] = (
    "client", "service", "actor")
EVENT_SECTIONS = ("client", "service", "actor", "output")

_EMPTY_OBJECT: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


class Problem(NamedTuple):
    """Why a value fails its schema: the JSON Schema ``message``, the ``pointer`` of the bad
    part, and the ``keyword`` it breaks with that keyword's value in the schema (``limit``)."""

    message: str
    pointer: str
    keyword: str | None = None
    limit: Any = None

    def past_bound(self) -> str | None:
        """When a bound (:data:`BOUNDS`) is what breaks, what the value would do, without
        quoting it: ``"hold more than 1000 items (maxItems: 1000)"``; else ``None``."""
        says = _BOUND_SAYS.get(self.keyword or "")
        if says is None:
            return None
        return f"{says.format(self.limit)} ({self.keyword}: {self.limit})"


_BOUND_SAYS = {
    "maxItems": "hold more than {} items", "minItems": "hold fewer than {} items",
    "maxLength": "be longer than {} characters", "minLength": "be shorter than {} characters",
    "maxProperties": "have more than {} properties",
    "minProperties": "have fewer than {} properties",
    "maximum": "be above {}", "minimum": "be below {}",
    "exclusiveMaximum": "reach {}", "exclusiveMinimum": "fall to {}",
}
#: The keywords that bound a value's size or range: a context that breaks one of them has
#: grown (or shrunk) past what its schema allows, rather than taken a wrong shape.
BOUNDS: frozenset[str] = frozenset(_BOUND_SAYS)


def pointer(path: Iterable[Any]) -> str:
    """RFC 6901 JSON pointer for a sequence of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def to_json(value: Any, what: str) -> Any:
    """A deep copy of ``value`` made of plain JSON types, or :class:`EventRejected`.

    Going through JSON both copies (so the actor never shares objects with its caller) and
    proves the value is JSON (no sets, bytes, NaN or non-string keys).
    """
    try:
        return jsonvalue.copy(value)
    except jsonvalue.NotJSON as e:
        raise EventRejected(f"{what} is not plain JSON ({e})", pointer=e.pointer) from None


class Validator:
    """A compiled JSON Schema: fast to check, with a precise message when the check fails."""

    __slots__ = ("_fast", "_full", "schema")

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        # jsonschema-rs (compiled Rust) checks a 16-todo context in 4 us where jsonschema
        # takes ~1 ms and fastjsonschema 75 us: it runs on every event and after every step.
        # jsonschema, the reference implementation, is asked only when a check fails, for its
        # message and the pointer of the bad field.
        self._fast = jsonschema_rs.Draft7Validator(schema, validate_formats=True)
        self._full = jsonschema.Draft7Validator(
            schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
        )

    def error(self, value: Any, *, bounds_first: bool = False) -> Problem | None:
        """``None`` when ``value`` is valid, else the :class:`Problem`. With
        ``bounds_first``, a value the fast validator finds past a bound (:data:`BOUNDS`) is
        reported as such without asking jsonschema, whose check of a large value (a todo list
        at its cap of 1,000) takes milliseconds where the fast one takes microseconds."""
        if self._fast.is_valid(value):
            return None
        if bounds_first:
            first = next(iter(self._fast.iter_errors(value)))
            keyword = getattr(first.kind, "name", None)
            if keyword in BOUNDS:
                return Problem(excerpt(first.message), pointer(first.instance_path), keyword,
                               getattr(first.kind, "limit", None))
        try:
            best = jsonschema.exceptions.best_match(self._full.iter_errors(value))
        except re.error:  # a pattern only the fast (Rust) validator understands, e.g. \p{L}
            best = None
        if best is not None:
            return Problem(best.message, pointer([*best.absolute_path, *_unexpected(best)]),
                           str(best.validator), best.validator_value)
        first = next(iter(self._fast.iter_errors(value)))
        return Problem(first.message, pointer(first.instance_path),
                       getattr(first.kind, "name", None), getattr(first.kind, "limit", None))


def _unexpected(err: jsonschema.ValidationError) -> list[str]:
    """For "additional properties" errors, the first unexpected key: that is the bad field,
    not the object around it."""
    if err.validator != "additionalProperties" or not isinstance(err.instance, dict):
        return []
    known = set((err.schema.get("properties") or {}) if isinstance(err.schema, Mapping) else ())
    patterns = (err.schema.get("patternProperties") or {}) if isinstance(err.schema, Mapping) \
        else {}
    extra = [k for k in err.instance
             if k not in known and not any(re.search(p, k) for p in patterns)]
    return extra[:1]


def _event_schema(schema: Any, definitions: Mapping[str, Any] | None) -> Any:
    if schema is None:
        schema = dict(_EMPTY_OBJECT)
    elif isinstance(schema, dict):
        schema = dict(schema)
        # `{}` declares an event without fields, as an empty declaration does
        looks_like_object = not schema or schema.get("type") == "object" or \
            "properties" in schema
        if looks_like_object and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        schema.setdefault("type", "object")
    return _with_definitions(schema, definitions)


def _with_definitions(schema: Any, definitions: Mapping[str, Any] | None) -> Any:
    if definitions and isinstance(schema, dict) and "definitions" not in schema:
        return {**schema, "definitions": dict(definitions)}
    return schema


@dataclass
class ActorSchemas:
    """Every schema of one actor type, compiled. Built by :func:`schemas_from_source`."""

    path: str | None = None
    input: Validator = field(default_factory=lambda: Validator(_EMPTY_OBJECT))
    public: Validator | None = None
    private: Validator | None = None
    client: dict[str, Validator] = field(default_factory=dict)
    service: dict[str, Validator] = field(default_factory=dict)
    #: events other actors may send with ``ctx.tell()``
    actor: dict[str, Validator] = field(default_factory=dict)
    output: dict[str, Validator] = field(default_factory=dict)
    internal: frozenset[str] = frozenset()
    #: the file's shared schemas, by name (``#/definitions/<name>`` in every schema above)
    definitions: dict[str, Any] = field(default_factory=dict)
    #: events declared with a schema that has a problem (AK106/AK108): declared all the same
    invalid_events: frozenset[str] = frozenset()

    def events_for(self, caller_type: str) -> dict[str, Validator]:
        """The events a caller of ``caller_type`` may send, by name."""
        if caller_type == "client":
            return self.client
        if caller_type == "service":
            return self.service
        if caller_type == "actor":
            return self.actor
        return {}

    def _where(self, section: str) -> str:
        return f"`{section}:` in {self.path}" if self.path else f"the `{section}` schemas"

    def validate_event(self, caller_type: str, event: Any) -> tuple[str, dict[str, Any]]:
        """Check an event sent by a caller of ``caller_type``; return ``(type, payload)``.

        The payload is a fresh JSON copy of the event without ``type``. Raises
        :class:`EventRejected` with the JSON Schema message and the pointer of the bad field.
        """
        if not isinstance(event, Mapping):
            raise EventRejected("an event must be a JSON object with a string `type`")
        etype = event.get("type")
        if etype is None:
            raise EventRejected("the event has no `type`: add e.g. {\"type\": \"ADD_TODO\"}",
                                pointer="/type")
        if not isinstance(etype, str):
            raise EventRejected("`type` must be a string", pointer="/type")
        if "caller" in event:
            raise EventRejected(
                "`caller` is set by actorkit from the access token; remove it from the event",
                pointer="/caller", event_type=etype)
        validator = self.events_for(caller_type).get(etype)
        if validator is None:
            raise EventRejected(self._unknown(caller_type, etype), pointer="/type",
                                event_type=etype)
        payload = to_json({k: v for k, v in event.items() if k != "type"}, f"event {etype}")
        problem = validator.error(payload)
        if problem is not None:
            raise EventRejected(problem[0], pointer=problem[1], event_type=etype)
        return etype, payload

    def _unknown(self, caller_type: str, etype: str) -> str:
        if etype in SYSTEM_EVENTS:
            return f"{etype} is a system event: only the actorkit runtime sends it"
        if caller_type not in CALLER_SECTIONS:
            return f"a {caller_type} caller cannot send events from outside the runtime"
        others = [s for s in CALLER_SECTIONS if s != caller_type and etype in self.events_for(s)]
        if others:
            return (f"{etype} is {_a(others[0])}-only event; {_a(caller_type)} caller cannot "
                    f"send it (declare it under {self._where(caller_type)} to allow that)")
        trimmed = etype.strip()
        if trimmed != etype and trimmed in self.events_for(caller_type):
            return (f"unknown event type {etype!r} for {caller_type} callers: event names do "
                    f"not start or end with spaces; send {trimmed!r}")
        return (f"unknown event type {etype!r} for {caller_type} callers: declare it under "
                f"{self._where(caller_type)}")

    def validate_input(self, value: Any) -> dict[str, Any]:
        """Check spawn input; return a JSON copy. Raises :class:`EventRejected`."""
        value = {} if value is None else to_json(value, "input")
        problem = self.input.error(value)
        if problem is not None:
            where = f" at {problem[1]}" if problem[1] else ""
            raise EventRejected(
                f"input rejected{where}: {problem[0]} (see {self._where('input')})",
                pointer=problem[1])
        return value  # type: ignore[no-any-return]


def _a(word: str) -> str:
    """``word`` after its indefinite article: "a client", "an actor"."""
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _meta_schema() -> Any:
    text = resources.files("actorkit").joinpath("schemas.schema.json").read_text("utf-8")
    return json.loads(text)


_SHAPE = jsonschema.Draft7Validator(_meta_schema())


_SECTIONS = ("$schema", "input", "public", "private", *EVENT_SECTIONS, "internal",
             "definitions")
_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


def _unknown_section(name: str) -> str:
    close = difflib.get_close_matches(name, _SECTIONS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(_SECTIONS[1:])}"
    return f"schemas file: unknown section {name!r}: {hint}"


def _shape_problem(err: jsonschema.ValidationError, node: tuple[Any, ...]) -> str:
    where = f"`{pointer(node)[1:]}`" if node else "the schemas file"
    if err.validator == "type" and not node:
        return "a schemas file is a mapping of sections (client, service, public, ...)"
    if err.validator == "type" and len(node) == 1 and node[0] in EVENT_SECTIONS:
        return (f"`{node[0]}:` must map event names to their schemas, e.g. "
                f"`ADD_TODO: {{properties: {{text: {{type: string}}}}}}`")
    if err.validator == "type":
        return f"schemas file: {where} must be a JSON Schema (a mapping, or true/false)"
    return f"schemas file: {err.message} (at {where})"


def _schema_problem(err: jsonschema.SchemaError) -> str:
    path = list(err.absolute_path)
    if (path and path[-1] == "type") or (len(path) > 1 and path[-2] == "type"):
        bad = err.instance if isinstance(err.instance, str) else None
        close = difflib.get_close_matches(bad, _TYPES, n=1) if bad else []
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(_TYPES)}"
        return f"{err.instance!r} is not a JSON Schema type: {hint}"
    return str(err.message)


def schemas_from_source(src: Source) -> tuple[ActorSchemas | None, list[Diagnostic]]:
    """Compile the schemas in an already parsed schemas file."""
    diags: list[Diagnostic] = []
    data = src.data if src.data is not None else {}

    def diag(code: str, node: tuple[Any, ...], message: str, *, key: bool = False) -> None:
        pos = src.key_at(node) if key else src.at(node)
        diags.append(Diagnostic(src.path, *pos, code, message))

    for err in _SHAPE.iter_errors(data):
        node = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and not node and isinstance(data, dict):
            for name in data:
                if name not in _SECTIONS:
                    diag("AK105", (name,), _unknown_section(name), key=True)
        elif err.validator == "pattern" and node and node[0] in (*EVENT_SECTIONS, "internal"):
            in_list = len(node) > 1  # `internal:` is a list of names, the others map them
            diag("AK105", node if in_list else (*node, err.instance),
                 f"event name {err.instance!r} under `{node[0]}:` cannot be sent or "
                 f"matched: an event name is not empty, does not start or end with a space "
                 f"and holds no line break or other control character (`goto s2` and "
                 f"ADD_TODO are fine)", key=not in_list)
        else:
            diag("AK105", node, _shape_problem(err, node))
    if diags:
        diags.sort(key=lambda d: (d.line, d.column))
        return None, diags

    definitions = data.get("definitions")
    out = ActorSchemas(path=src.path, internal=frozenset(data.get("internal") or ()),
                       definitions=dict(definitions or {}))

    def check_at(node: tuple[Any, ...], schema: Any) -> bool:
        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            inner = tuple(e.absolute_path)
            if inner[:1] == ("definitions",) and node[:1] != ("definitions",):
                return False  # reported where the definition is written
            diag("AK106", (*node, *inner), f"not a valid JSON Schema (draft-07): "
                                           f"{_schema_problem(e)}")
            return False
        return True

    def compile_at(node: tuple[Any, ...], schema: Any) -> Validator | None:
        if not check_at(node, schema):
            return None
        try:
            return Validator(schema)
        except (jsonschema_rs.ValidationError, ValueError) as e:
            diag("AK106", node, f"schema cannot be compiled: {str(e).splitlines()[0]}")
            return None

    # Definitions are checked once, where they are written; the schemas that use them do not
    # repeat their problems.
    for name, schema in (definitions or {}).items():
        check_at(("definitions", name), schema)
    for section in ("input", "public", "private"):
        if section in data:
            v = compile_at((section,), _with_definitions(data[section], definitions))
            if v is not None:
                setattr(out, section, v)
    invalid: set[str] = set()
    for section in EVENT_SECTIONS:
        table: dict[str, Validator] = getattr(out, section)
        for name, schema in (data.get(section) or {}).items():
            node = (section, name)
            if name in SYSTEM_EVENTS:
                diag("AK108", node, f"{name} is a system event sent by the runtime; it cannot be "
                                    f"declared as a {section} event: rename it", key=True)
                continue
            props = schema.get("properties", {}) if isinstance(schema, dict) else {}
            reserved = sorted(RESERVED_FIELDS & set(props)) if isinstance(props, dict) else []
            if reserved:
                diag("AK108", (*node, "properties", reserved[0]),
                     f"event {name} declares the reserved field `{reserved[0]}`: actorkit sets "
                     f"`type` and `caller` itself; remove it from the schema", key=True)
                invalid.add(name)
                continue
            v = compile_at(node, _event_schema(schema, definitions))
            if v is not None:
                table[name] = v
            else:
                invalid.add(name)
    out.invalid_events = frozenset(invalid)
    # Even with problems, return what compiled: lint goes on to check the chart against it.
    return out, diags
