"""The types of one chart, as a small model both languages are written from.

:func:`chart_types` reads a chart's schemas and states into named declarations. JSON Schema
is turned into types construct by construct (objects, ``required``, ``enum``, ``const``,
arrays, unions, ``$ref`` to ``definitions``, ``additionalProperties``); what a type cannot
say (a tuple, a ``$ref`` outside ``definitions``, an object in an ``enum``) becomes
:data:`UNKNOWN`, the documented fallback. Everything is visited in sorted order, so the same
chart always gives the same declarations under the same names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sismic.model import HistoryStateMixin, OrthogonalState

if TYPE_CHECKING:
    from sismic.model import Statechart

    from ..chart import Chart

__all__ = [
    "UNIONS",
    "Array",
    "Decl",
    "Event",
    "Intersection",
    "Literal",
    "Object",
    "Primitive",
    "Prop",
    "Ref",
    "Type",
    "TypeModel",
    "Union",
    "chart_types",
    "pascal",
]


@dataclass(frozen=True)
class Primitive:
    """``unknown``, ``never``, ``null``, ``boolean``, ``number``, ``integer`` or ``string``."""

    kind: str


@dataclass(frozen=True)
class Literal:
    """One JSON value: a string, number, boolean or null."""

    value: str | int | float | bool | None


@dataclass(frozen=True)
class Array:
    item: Type


@dataclass(frozen=True)
class Ref:
    """A named declaration of the same model."""

    name: str


@dataclass(frozen=True)
class Union:
    members: tuple[Type, ...]


@dataclass(frozen=True)
class Intersection:
    """Every member at once (``allOf``, or ``anyOf`` beside a type); the first member is the
    schema's own type, which is what a language without intersections falls back to."""

    members: tuple[Type, ...]


@dataclass(frozen=True)
class Prop:
    name: str
    type: Type
    required: bool
    description: str | None = None


@dataclass(frozen=True)
class Object:
    """An object: its properties, sorted by name, and the type of any other key (``None``:
    no other key; :data:`UNKNOWN`: any value)."""

    props: tuple[Prop, ...]
    extra: Type | None


Type = Primitive | Literal | Array | Ref | Union | Intersection | Object

UNKNOWN = Primitive("unknown")
NEVER = Primitive("never")
_EMPTY = Object((), None)


@dataclass(frozen=True)
class Decl:
    """A named type. ``event`` is set on the declaration of one event's payload."""

    name: str
    type: Type
    description: str | None = None
    event: Event | None = None


@dataclass(frozen=True)
class Event:
    """An event of one section (``client``, ``service``, ``actor``, ``output``): its ``type``
    string, and the name of its payload without ``type`` (what a hook's ``event.data``
    holds)."""

    section: str
    type: str
    data_name: str


@dataclass
class TypeModel:
    """Every declaration of a chart's types, in the order they are written."""

    actor: str
    chart_file: str
    schemas_file: str | None
    decls: list[Decl] = field(default_factory=list)
    #: event declarations by section, sorted by event type
    events: dict[str, list[Decl]] = field(default_factory=dict)


#: Names the model itself gives; definitions and nested objects never take them.
FIXED = ("ActorEvent", "CallerSnapshot", "ClientEvent", "Input", "Machine", "OutputEvent",
         "PrivateContext", "PublicContext", "ServiceEvent", "StateValue")
SECTIONS = ("client", "service", "actor", "output")
#: The union of each section's events: its name and what it says.
UNIONS = {"client": ("ClientEvent", "Every event a client caller may send."),
          "service": ("ServiceEvent", "Every event a service caller may send."),
          "actor": ("ActorEvent", "Every event other actors may send with ctx.tell."),
          "output": ("OutputEvent", "Every output event hooks emit with ctx.emit.")}


def pascal(name: str) -> str:
    """``ADD_TODO`` -> ``AddTodo``, ``lastSync`` -> ``LastSync``, ``goto s2`` -> ``GotoS2``."""
    parts = [p for p in re.split(r"[\W_]+", name) if p]
    out = "".join(p.capitalize() if p.isupper() else p[0].upper() + p[1:] for p in parts)
    if not out or not (out[0].isalpha() and out[0].isascii()):
        out = "T" + out  # a type name starts with a letter
    return out


class _Builder:
    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self.definitions = definitions
        self.taken: set[str] = set(FIXED)
        self.decls: list[Decl] = []
        self.def_names: dict[str, str] = {}
        for name in sorted(definitions):
            self.def_names[name] = self.unique(pascal(name))

    def unique(self, name: str) -> str:
        found, n = name, 1
        while found in self.taken:
            n += 1
            found = f"{name}{n}"
        self.taken.add(found)
        return found

    def declare(self, name: str, schema: Any, *, root: Any, event: Event | None = None) -> Decl:
        """Declare ``name`` as the type of ``schema``; nested objects are declared first."""
        description = _description(schema)
        typ = self.convert(schema, name, root, top=True)
        decl = Decl(name, typ, description, event)
        self.decls.append(decl)
        return decl

    def hoist(self, obj: Object, hint: str, description: str | None) -> Ref:
        name = self.unique(hint)
        self.decls.append(Decl(name, obj, description))
        return Ref(name)

    def convert(self, schema: Any, hint: str, root: Any, *, top: bool = False,
                seen: frozenset[str] = frozenset()) -> Type:
        """The type of ``schema``; objects with properties below the top are declared under
        names made from ``hint`` and returned as references."""
        if schema is True or schema == {}:
            return UNKNOWN
        if schema is False:
            return NEVER
        if not isinstance(schema, Mapping):
            return UNKNOWN
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self._ref(ref, hint, root, seen)
        # an object that is the whole type is the declaration itself, not declared apart
        whole = top and not any(k in schema for k in ("anyOf", "oneOf", "allOf"))
        own = self._own(schema, hint, root, whole, seen)
        parts: list[Type] = [] if own is None else [own]
        for key in ("anyOf", "oneOf"):
            members = schema.get(key)
            if isinstance(members, list) and members:
                parts.append(_union(self.convert(m, f"{hint}Option{i + 1}", root, seen=seen)
                                    for i, m in enumerate(members)))
        members = schema.get("allOf")
        if isinstance(members, list):
            parts.extend(self.convert(m, f"{hint}Part{i + 1}", root, seen=seen)
                         for i, m in enumerate(members))
        parts = [p for p in parts if p != UNKNOWN] or [UNKNOWN]
        return parts[0] if len(parts) == 1 else Intersection(tuple(parts))

    def _ref(self, ref: str, hint: str, root: Any, seen: frozenset[str]) -> Type:
        match = re.fullmatch(r"#/definitions/([^/]+)", ref)
        if match is None:
            return UNKNOWN  # only references to a definition are followed
        key = match.group(1).replace("~1", "/").replace("~0", "~")
        local = (root.get("definitions") or {}) if isinstance(root, Mapping) else {}
        if key not in local:
            return UNKNOWN
        if key in self.def_names and local[key] == self.definitions.get(key):
            return Ref(self.def_names[key])
        if key in seen:
            return UNKNOWN  # a schema's own recursive definition: not followed
        return self.convert(local[key], hint, root, seen=seen | {key})

    def _own(self, schema: Mapping[str, Any], hint: str, root: Any, top: bool,
             seen: frozenset[str]) -> Type | None:
        """The type the schema's own keywords give (``None`` when they give none)."""
        types = schema.get("type")
        kinds = [types] if isinstance(types, str) else list(types or [])
        if "const" in schema:
            return _literals([schema["const"]], kinds)
        if isinstance(schema.get("enum"), list):
            return _literals(schema["enum"], kinds)
        if not kinds:
            if any(k in schema for k in ("properties", "required", "additionalProperties")):
                kinds = ["object"]
            elif "items" in schema:
                kinds = ["array"]
            else:
                return None
        out: list[Type] = []
        for kind in kinds:
            if kind == "object":
                out.append(self._object(schema, hint, root, top and len(kinds) == 1, seen))
            elif kind == "array":
                items = schema.get("items", True)
                item = UNKNOWN if isinstance(items, list) else \
                    self.convert(items, f"{hint}Item", root, seen=seen)
                out.append(Array(item))
            elif kind in ("null", "boolean", "number", "integer", "string"):
                out.append(Primitive(kind))
        return _union(out)

    def _object(self, schema: Mapping[str, Any], hint: str, root: Any, top: bool,
                seen: frozenset[str]) -> Type:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = schema.get("required")
        required = set(required) if isinstance(required, list) else set()
        extra_schema = schema.get("additionalProperties", True)
        if schema.get("patternProperties"):
            extra_schema = True  # keys by pattern: any other key, as far as a type can tell
        extra = None if extra_schema is False else \
            self.convert(extra_schema, f"{hint}Value", root, seen=seen)
        props = [Prop(name, self.convert(properties[name], hint + pascal(name), root, seen=seen),
                      name in required, _description(properties[name]))
                 for name in sorted(properties)]
        props += [Prop(name, UNKNOWN, True) for name in sorted(required - set(properties))
                  if isinstance(name, str)]
        obj = Object(tuple(sorted(props, key=lambda p: p.name)), extra)
        if top or not obj.props:
            return obj
        return self.hoist(obj, hint, _description(schema))


def _description(schema: Any) -> str | None:
    text = schema.get("description") if isinstance(schema, Mapping) else None
    return text.strip() if isinstance(text, str) and text.strip() else None


_KIND_OF = {str: "string", bool: "boolean", type(None): "null", int: "integer", float: "number"}


def _literals(values: list[Any], kinds: list[str]) -> Type:
    """The literals of an ``enum`` or ``const``, keeping only those its ``type`` allows."""
    out: list[Type] = []
    for value in values:
        kind = _KIND_OF.get(type(value))
        if kind is None:
            out.append(UNKNOWN)  # an object or array: no literal type for it
            continue
        allowed = not kinds or kind in kinds or (kind == "integer" and "number" in kinds)
        if allowed:
            out.append(Literal(value))
    return _union(out) if out else NEVER


def _union(types: Any) -> Type:
    flat: list[Type] = []
    for t in types:
        for m in (t.members if isinstance(t, Union) else (t,)):
            if m not in flat:
                flat.append(m)
    if UNKNOWN in flat:
        return UNKNOWN
    flat = [t for t in flat if t != NEVER]
    if not flat:
        return NEVER
    return flat[0] if len(flat) == 1 else Union(tuple(flat))


def _state_value(b: _Builder, sc: Statechart) -> Type:
    """The union of every state value the chart can be in, in the shape ``value`` has on the
    wire (see :mod:`actorkit.statevalue`)."""

    def children(name: str) -> list[str]:
        return sorted(c for c in sc.children_for(name)
                      if not isinstance(sc.state_for(c), HistoryStateMixin))

    def value(name: str) -> Type:
        if isinstance(sc.state_for(name), OrthogonalState):
            regions = Object(tuple(Prop(r, value(r), True) for r in children(name)), None)
            return b.hoist(regions, f"StateValue{pascal(name)}Regions", None) \
                if regions.props else _EMPTY
        forms: list[Type] = []
        for child in children(name):
            if not sc.children_for(child):
                forms.append(Literal(child))
            else:
                inner = Object((Prop(child, value(child), True),), None)
                forms.append(b.hoist(inner, f"StateValue{pascal(child)}", None))
        # the state names first, then the states that hold others
        forms.sort(key=lambda f: not isinstance(f, Literal))
        return _union(forms) if forms else _EMPTY

    root = sc.root
    return _EMPTY if root is None else value(root)


def chart_types(chart: Chart) -> TypeModel:
    """The declarations of ``chart``'s types: its definitions, input, public and private
    context, state value, caller snapshot, and the events of each caller type and output."""
    schemas = chart.schemas
    b = _Builder(schemas.definitions)
    model = TypeModel(chart.actor_type, chart.path, schemas.path)
    for name in sorted(schemas.definitions):
        schema = schemas.definitions[name]
        b.declare(b.def_names[name], schema, root={"definitions": schemas.definitions})
    b.declare("Input", schemas.input.schema, root=schemas.input.schema)
    for part, name in (("public", "PublicContext"), ("private", "PrivateContext")):
        validator = getattr(schemas, part)
        schema = validator.schema if validator is not None else True
        b.declare(name, schema, root=schema)
    b.decls.append(Decl("StateValue", _state_value(b, chart.statechart),
                        "Every state value of the chart: the caller snapshot's `value`."))
    b.decls.append(Decl("CallerSnapshot", Object((
        Prop("private", Ref("PrivateContext"), True, "This caller's own private part."),
        Prop("public", Ref("PublicContext"), True),
        Prop("value", Ref("StateValue"), True)), None),
        "What a caller sees: the public part, its own private part and the state value."))
    for section in SECTIONS:
        table = schemas.events_for(section) if section != "output" else schemas.output
        decls = []
        for etype in sorted(table):
            schema = table[etype].schema
            base = f"{section.capitalize()}{pascal(etype)}"
            name, data_name = b.unique(f"{base}Event"), b.unique(f"{base}Data")
            decls.append(b.declare(name, schema, root=schema,
                                   event=Event(section, etype, data_name)))
        model.events[section] = decls
    model.decls = b.decls
    return model
