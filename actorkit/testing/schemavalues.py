"""Hypothesis strategies for the values of a JSON Schema (draft-07): :func:`from_schema`.

Values stay small unless the schema asks for more (strings of about 20 characters, arrays of
about 5 items, at most 2 extra object keys), numbers are finite and within +/-2**53, one array
in four holds an item twice (unless ``uniqueItems``), and every value is checked against its
schema before it is drawn. The schema ``false``, or one the generator can tell has no values,
gives ``st.nothing()`` (its ``is_empty`` is true). A recursive ``$ref`` is unrolled 3 levels
deep; below that only non-recursive choices are made. :class:`Builder` also breaks a valid
value in one place, for the events that must be refused.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import orjson
from hypothesis.strategies import SearchStrategy

from ..schemas import RESERVED_FIELDS, Validator
from ..sync import canonical

__all__ = ["Builder", "from_schema"]

MAX_STRING = 20       # characters beyond minLength
MAX_ITEMS = 5         # items beyond minItems
MAX_EXTRA_KEYS = 2    # keys beyond `properties`, where the schema allows others
REF_UNROLL = 3        # how often one $ref may repeat on the way down to a value
_BIG = 2**53          # numbers stay where every JSON implementation agrees on them

Strategy = SearchStrategy[Any]
Refs = tuple[str, ...]
_SKIP: Any = object()  # no value / nothing to break

_CHARS = st.characters(codec="utf-8")
_SCALARS = (st.none() | st.booleans() | st.integers(-_BIG, _BIG) | st.text(_CHARS, max_size=10)
            | st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False))
_ANY = _SCALARS | st.lists(_SCALARS, max_size=3) \
    | st.dictionaries(st.text(_CHARS, max_size=6), _SCALARS, max_size=3)  # small JSON
_FORMATS: dict[str, SearchStrategy[str]] = {
    "date-time": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
    "date": st.dates().map(date.isoformat),
    "time": st.times().map(lambda t: t.isoformat() + "Z"),
    "email": st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,5})?@[a-z]{1,8}\.(com|io)", fullmatch=True),
    "uri": st.from_regex(r"https://[a-z0-9]{1,8}\.(com|io)(/[a-z0-9_-]{1,6}){0,3}", fullmatch=True),
    "hostname": st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}", fullmatch=True),
    "uuid": st.uuids().map(str),
    "ipv4": st.ip_addresses(v=4).map(str),
    "ipv6": st.ip_addresses(v=6).map(str),
}
_KEYWORD_TYPES = {
    "object": {"properties", "required", "additionalProperties", "patternProperties",
               "minProperties", "maxProperties", "propertyNames", "dependencies"},
    "array": {"items", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains"},
    "string": {"minLength", "maxLength", "pattern", "format"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
}
# keywords the generator only approximates: values of a schema with one are checked there
_APPROX = {"anyOf", "oneOf", "allOf", "not", "if", "dependencies", "propertyNames", "contains",
           "multipleOf", "uniqueItems", "patternProperties", "minProperties", "maxProperties"}
_REF = re.compile(rb'"\$ref":"((?:[^"\\]|\\.)*)"')
_WRONG: dict[str, Any] = {"null": None, "boolean": True, "integer": 7, "number": 0.5,
                          "string": "oops", "array": [], "object": {}}


def _json(value: Any) -> Any:  # a fresh copy
    return orjson.loads(orjson.dumps(value))


def _allows(types: set[str], name: str) -> bool:
    return name in types or (name == "integer" and "number" in types)


def _numbers(schema: dict[str, Any]) -> dict[str, int | float]:
    return {k: v for k, v in schema.items() if k in _KEYWORD_TYPES["number"]
            and isinstance(v, int | float) and not isinstance(v, bool)}


def _regex(pattern: Any) -> re.Pattern[str] | None:
    """The pattern compiled by Python, if it can (ECMA-only syntax is left to the check)."""
    try:
        return re.compile(pattern) if isinstance(pattern, str) else None
    except re.error:
        return None


def _matched(key: str, patterns: dict[str, Any]) -> bool:
    """Whether ``key`` falls under one of the ``patternProperties``."""
    return any(r.search(key) for p in patterns if (r := _regex(p)) is not None)


def _merge(a: Any, b: Any) -> Any:
    """A schema close to ``allOf: [a, b]``; the exact check is left to the validator."""
    if a is False or b is False:
        return False
    if a is True or not isinstance(b, dict):
        return b if isinstance(b, dict) else a
    if "$ref" in a or "$ref" in b:
        return {"allOf": [a, b]}  # resolved, and counted, by _Builder.build
    out = dict(a)
    for key, vb in b.items():
        va: Any = out.get(key)
        if key not in out or va == vb:
            out[key] = vb
        elif key == "type":
            ta, tb = ({t} if isinstance(t, str) else set(t) for t in (va, vb))
            out[key] = sorted(t for t in ta | tb if _allows(ta, t) and _allows(tb, t))
        elif key.startswith(("min", "exclusiveMin")):
            out[key] = max(va, vb)
        elif key.startswith(("max", "exclusiveMax")):
            out[key] = min(va, vb)
        elif key == "required":
            out[key] = list(dict.fromkeys([*va, *vb]))
        elif key == "enum":
            out[key] = [v for v in va if canonical(v) in {canonical(w) for w in vb}]
        elif key in ("properties", "patternProperties"):
            out[key] = {k: _merge(va.get(k, True), vb.get(k, True)) for k in {**va, **vb}}
        elif key in ("items", "additionalProperties", "additionalItems", "propertyNames"):
            out[key] = va if isinstance(va, list) else _merge(va, vb)
        elif key == "not":
            out[key] = {"anyOf": [va, vb]}
        # anything else (pattern, format, multipleOf, anyOf, ...): keep a's, the check decides
    return False if out.get("type") == [] else out


class Builder:
    """Strategies for the schemas inside one root schema, which ``$ref`` points into."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def deref(self, schema: Any, refs: Refs) -> tuple[Any, Refs] | None:
        """Follow ``$ref`` (siblings ignored, as in draft-07); None past the unroll limit."""
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
                raise ValueError(f"only local $refs (#/definitions/...) are supported: {ref!r}")
            if refs.count(ref) >= REF_UNROLL:
                return None
            refs, schema = (*refs, ref), self.root
            for part in ref[2:].split("/") if ref != "#" else ():
                part = part.replace("~1", "/").replace("~0", "~")
                schema = schema[int(part)] if isinstance(schema, list) else schema[part]
        return schema, refs

    def check(self, schema: dict[str, Any]) -> Callable[[Any], bool] | None:
        """Whether a value is valid against a subschema (None: it cannot be checked alone)."""
        if not all(r.startswith(b"#/definitions/") for r in _REF.findall(canonical(schema))):
            return None
        defs = self.root.get("definitions") if isinstance(self.root, dict) else None
        validator = Validator({"definitions": defs, **schema} if defs else schema)
        return lambda v: validator.error(v) is None

    def build(self, schema: Any, refs: Refs = ()) -> Strategy | None:
        """A strategy for ``schema``; None if it has no values."""
        found = self.deref(schema, refs)
        if found is None or found[0] is False:
            return None
        schema, refs = found
        if schema is True:
            return _ANY
        if not isinstance(schema, dict):
            raise TypeError(f"not a JSON Schema: {schema!r}")
        if schema.get("not") in (True, {}):  # nothing is valid
            return None
        built = self._build(schema, refs)
        check = self.check(schema) if built is not None and _APPROX & schema.keys() else None
        return built if built is None or check is None else built.filter(check)

    def _build(self, schema: dict[str, Any], refs: Refs) -> Strategy | None:
        for key in ("anyOf", "oneOf"):  # a branch, with the keywords beside it
            if key in schema:
                rest = {k: v for k, v in schema.items() if k != key}
                options = [s for b in schema[key]
                           if (s := self.build(_merge(rest, b), refs)) is not None]
                return st.one_of(options) if options else None
        if "if" in schema:  # anyOf: [allOf: [if, then], else]
            rest = {k: v for k, v in schema.items() if k not in ("if", "then", "else")}
            either = {"anyOf": [{"allOf": [schema["if"], schema.get("then", True)]},
                                schema.get("else", True)]}
            return self._build({**rest, "allOf": [*rest.get("allOf", ()), either]}, refs)
        if "allOf" in schema:
            merged: Any = {k: v for k, v in schema.items() if k != "allOf"}
            parts = list(schema["allOf"])
            while parts and merged is not False:
                if (found := self.deref(parts.pop(0), refs)) is None:
                    return None
                part, refs = found
                if isinstance(part, dict) and "allOf" in part:
                    parts += part["allOf"]
                    part = {k: v for k, v in part.items() if k != "allOf"}
                merged = _merge(merged, part)
            return self.build(merged, refs)
        if "const" in schema or "enum" in schema:
            members = [schema["const"]] if "const" in schema else list(schema["enum"])
            check = self.check(schema)
            valid = [_json(m) for m in members if check is None or check(m)]
            return st.sampled_from(valid).map(_json) if valid else None
        if (types := _types(schema)) is None:
            return _ANY
        makers: dict[str, Callable[[], Strategy | None]] = {
            "null": st.none, "boolean": st.booleans, "string": lambda: _string(schema),
            "integer": functools.partial(_number, schema, integer="number" not in types),
            "array": lambda: self._array(schema, refs),
            "object": lambda: self._object(schema, refs),
        }
        types = {"integer" if t == "number" else t for t in types}  # numbers include integers
        options = [s for t in sorted(types) if t in makers and (s := makers[t]()) is not None]
        return st.one_of(options) if options else None

    def _array(self, schema: dict[str, Any], refs: Refs) -> Strategy | None:
        lo = schema.get("minItems", 0)
        hi = min(schema.get("maxItems", lo + MAX_ITEMS), lo + MAX_ITEMS)
        items = schema.get("items", True)
        if isinstance(items, list):  # the tuple form: item i follows items[i], then the rest
            prefix = [s for s in itertools.takewhile(
                lambda s: s is not None, (self.build(s, refs) for s in items)) if s is not None]
            rest = self.build(schema.get("additionalItems", True), refs)
            options = [st.tuples(*prefix[:n]).map(list)
                       for n in range(lo, min(len(prefix), hi) + 1)]
            if rest is not None and len(prefix) == len(items) < hi:  # and more items
                options.append(st.tuples(st.tuples(*prefix), st.lists(
                    rest, min_size=max(lo - len(prefix), 1), max_size=hi - len(prefix)))
                    .map(lambda t: [*t[0], *t[1]]))
            return st.one_of(options) if options else None
        item = self.build(items, refs)
        if item is None or hi < lo:
            return st.just([]) if lo == 0 <= hi else None
        unique = canonical if schema.get("uniqueItems") is True else None
        if "contains" not in schema:
            plain = st.lists(item, min_size=lo, max_size=hi, unique_by=unique)
            return plain if unique is not None or hi < 2 else _with_repeats(plain, item, lo, hi)
        if (wanted := self.build(_merge(items, schema["contains"]), refs)) is None or hi == 0:
            return None
        others = st.lists(item, min_size=max(lo - 1, 0), max_size=hi - 1, unique_by=unique)
        return st.tuples(others, wanted, st.integers(0, hi)).map(  # `wanted` somewhere in it
            lambda t: [*t[0][:t[2]], t[1], *t[0][t[2]:]])

    def _object(self, schema: dict[str, Any], refs: Refs) -> Strategy | None:
        props: dict[str, Any] = schema.get("properties", {})
        required = list(schema.get("required", []))
        optional = [k for k in props if k not in required]
        missing = schema.get("minProperties", 0) - len(required)
        required += optional[:max(missing, 0)]  # enough keys for minProperties
        more = self.build(schema.get("additionalProperties", True), refs)
        fixed = {k: self.build(props[k], refs) if k in props else more for k in required}
        if any(s is None for s in fixed.values()):
            return None
        maybe = {k: s for k in optional
                 if k not in fixed and (s := self.build(props[k], refs)) is not None}
        known = set(props) | RESERVED_FIELDS  # extra keys are never `type` or `caller`
        patterns: dict[str, Any] = schema.get("patternProperties", {})
        extras = [st.dictionaries(st.from_regex(r).filter(lambda k: k not in known), s,
                                  max_size=MAX_EXTRA_KEYS)
                  for p, sub in patterns.items()
                  if (r := _regex(p)) is not None and (s := self.build(sub, refs)) is not None]
        if more is not None:
            fresh = st.text(_CHARS, max_size=8).filter(
                lambda k: k not in known and not _matched(k, patterns))
            need = max(missing - len(optional), 0)
            extras.append(st.dictionaries(fresh, more, min_size=need,
                                          max_size=need + MAX_EXTRA_KEYS))
        base = st.fixed_dictionaries(fixed, optional=maybe)  # type: ignore[arg-type]
        return st.tuples(base, *extras).map(  # the declared keys win
            lambda t: {k: v for d in t[::-1] for k, v in d.items()})

    def broken(self, draw: st.DrawFn, schema: Any, value: Any, refs: Refs = ()) -> Any:
        """``value`` (valid against ``schema``; _SKIP: absent) with one thing broken, or _SKIP.
        Every keyword must hold, so breaking any one is enough."""
        found = self.deref(schema, refs)
        if found is None or not isinstance(found[0], dict):
            return None if found is not None and found[0] is False else _SKIP
        schema, refs = found
        ways: list[tuple[str, Any]] = []  # the first ones come up most: the deeper breaks
        if isinstance(value, dict):
            props = schema.get("properties", {})
            ways += [("field", k) for k in props]
            ways += [("done", {k: v for k, v in value.items() if k != key})
                     for key in schema.get("required", []) if key in value]
            extra = next((k for n in range(9) if (k := "unexpected" + "_" * n) not in props
                          and not _matched(k, schema.get("patternProperties", {}))), None)
            if schema.get("additionalProperties") is False and extra is not None:
                ways.append(("done", {**value, extra: True}))
        if isinstance(value, list):
            lo, hi = schema.get("minItems", 0), schema.get("maxItems", math.inf)
            ways += [("item", schema["items"])] if isinstance(schema.get("items"), dict) else []
            ways += [("done", value[:lo - 1])] if lo > 0 else []
            if value and (hi < 50 or schema.get("uniqueItems") is True):  # and a duplicate
                more = max((int(hi) if hi < 50 else 1) + 1 - len(value), 1)
                ways.append(("done", [*value, *[_json(value[0])] * more]))
        if bad := _bad_values(schema):
            ways.append(("bad", st.sampled_from(bad)))
        if not ways:
            return _SKIP
        kind, arg = draw(st.sampled_from(ways))
        if kind in ("bad", "done"):
            return _json(draw(arg)) if kind == "bad" else arg
        if kind == "item":
            inner = self.broken(draw, arg, value[0] if value else _SKIP, refs)
            return _SKIP if inner is _SKIP else [inner, *value[1:]]
        inner = self.broken(draw, props[arg], value.get(arg, _SKIP), refs)
        return _SKIP if inner is _SKIP else {**value, arg: inner}


def _with_repeats(plain: Strategy, item: Strategy, lo: int, hi: int) -> Strategy:
    """``plain`` lists, and one time in four a list with one item in it twice: random items
    are all but never equal, and two equal ones (the same id twice) are what many bugs need."""
    base = st.lists(item, min_size=max(lo - 1, 1), max_size=hi - 1)

    @st.composite
    def lists(draw: st.DrawFn) -> list[Any]:
        if draw(st.integers(0, 3)) < 3:  # shrinks towards plain lists
            return draw(plain)
        items = draw(base)
        copy = _json(items[draw(st.integers(0, len(items) - 1))])
        at = draw(st.integers(0, len(items)))
        return [*items[:at], copy, *items[at:]]
    return lists()


def _bad_values(schema: dict[str, Any]) -> list[Any]:
    """Values just outside a schema's bounds, lengths, format or pattern, or of a type (or
    outside an enum) it refuses."""
    num = _numbers(schema)
    bad: list[Any] = [round_(num[k]) + step for k, step, round_ in (
        ("minimum", -1, math.floor), ("exclusiveMinimum", 0, math.floor),
        ("maximum", 1, math.ceil), ("exclusiveMaximum", 0, math.ceil)) if k in num]
    if schema.get("minLength", 0) > 0:
        bad.append("a" * (schema["minLength"] - 1))
    if schema.get("maxLength", math.inf) < 10_000:
        bad.append("a" * (schema["maxLength"] + 1))
    if schema.get("format") in _FORMATS:
        bad.append("not valid!")
    if (regex := _regex(schema.get("pattern"))) is not None:
        bad += [s for s in ("", "!", " x ", "\x00") if not regex.search(s)][:1]
    types = _types(schema) if "type" in schema else None
    members = schema.get("enum", [schema["const"]] if "const" in schema else None)
    known = {canonical(m) for m in members} if isinstance(members, list) else None
    return bad + [v for t, v in _WRONG.items() if (types is not None and not _allows(types, t))
                  or (known is not None and canonical(v) not in known)]


def _types(schema: dict[str, Any]) -> set[str] | None:
    """The types to generate: ``type``, else those the keywords are about; None: any."""
    declared = schema.get("type")
    if declared is not None:
        return {declared} if isinstance(declared, str) else set(declared)
    if isinstance(schema.get("not"), dict) and (banned := _types(schema["not"])) is not None:
        return {t for t in _WRONG if not _allows(banned, t)}  # the types `not` leaves
    return {name for name, keys in _KEYWORD_TYPES.items() if keys & schema.keys()} or None


def _number(schema: dict[str, Any], *, integer: bool) -> Strategy | None:
    num = _numbers(schema)
    # the tightest bound; at equal values the exclusive one
    lo, lo_open = max([(num[k], k[0] == "e") for k in ("minimum", "exclusiveMinimum")
                       if k in num] or [(-_BIG, False)])
    hi, hi_closed = min([(num[k], k[0] != "e") for k in ("maximum", "exclusiveMaximum")
                         if k in num] or [(_BIG, True)])
    lo, hi = max(lo, -_BIG), min(hi, _BIG)
    ilo = math.floor(lo) + 1 if lo_open else math.ceil(lo)
    ihi = math.floor(hi) if hi_closed else math.ceil(hi) - 1
    if (step := num.get("multipleOf")) is not None and step > 0:
        exact = Decimal(repr(step))  # k * step, exact in decimal; open bounds: the check
        kmin, kmax = math.ceil(lo / step), math.floor(hi / step)
        return st.integers(kmin, kmax).map(lambda k: k * exact).map(
            lambda d: int(d) if d == d.to_integral_value() else float(d)) \
            if kmin <= kmax else None
    ints = st.integers(ilo, ihi) if ilo <= ihi else None
    if integer or lo > hi or (lo == hi and (lo_open or not hi_closed)):
        return ints
    floats = st.floats(lo, hi, exclude_min=lo_open, exclude_max=not hi_closed,
                       allow_nan=False, allow_infinity=False)
    return floats if ints is None else ints | floats


def _string(schema: dict[str, Any]) -> Strategy | None:
    lo, hi = schema.get("minLength", 0), schema.get("maxLength")
    if hi is not None and hi < lo:
        return None
    regex, fmt = _regex(schema.get("pattern")), schema.get("format")
    if regex is None and fmt not in _FORMATS:
        return st.text(_CHARS, min_size=lo, max_size=lo + MAX_STRING if hi is None
                       else min(hi, lo + MAX_STRING))
    built = st.from_regex(regex, fullmatch=True) if regex is not None else _FORMATS[str(fmt)]
    return built.filter(lambda s: lo <= len(s) and (hi is None or len(s) <= hi))


def from_schema(schema: Any) -> SearchStrategy[Any]:
    """Values valid against a draft-07 JSON Schema (``st.nothing()`` if there are none)."""
    built, validator = Builder(schema).build(schema), Validator(schema)
    return st.nothing() if built is None else built.filter(lambda v: validator.error(v) is None)
