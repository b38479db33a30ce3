"""actorkit.testing.strategies: hypothesis strategies drawn from a chart's JSON Schemas.

Every test here runs with hypothesis' default health checks: a strategy whose filter threw
away too much would fail them.
"""

from __future__ import annotations

import gc
import math
import weakref
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import orjson
import pytest
from hypothesis import given, settings
from support import CHARTS, ROOT

from actorkit import ActorkitError, Caller, Chart, EventRejected, load_chart
from actorkit.schemas import Validator
from actorkit.testing import schemavalues
from actorkit.testing.strategies import (
    callers,
    client_pool,
    events,
    from_schema,
    inputs,
    invalid_events,
    service_pool,
)


def _load_all() -> dict[str, Chart]:
    found = {}
    for path in [ROOT / "charts" / "todo.yaml", ROOT / "charts" / "auction.yaml",
                 *sorted(CHARTS.glob("*.yaml"))]:
        try:
            found[path.stem] = load_chart(path)
        except ActorkitError:
            continue  # a chart the suite keeps broken on purpose
    return found


LOADED = _load_all()
SENDERS = [(name, caller_type) for name, chart in LOADED.items()
           for caller_type in ("client", "service") if chart.schemas.events_for(caller_type)]


def drawn(strategy: st.SearchStrategy[Any], n: int = 100) -> list[Any]:
    """Values hypothesis draws from ``strategy`` in ``n`` examples, the same on every run."""
    seen: list[Any] = []

    @settings(max_examples=n, derandomize=True, database=None)
    @given(strategy)
    def collect(value: Any) -> None:
        seen.append(value)

    collect()
    return seen


def rejection(chart: Chart, caller_type: str, event: Any) -> EventRejected | None:
    try:
        chart.schemas.validate_event(caller_type, event)
    except EventRejected as e:
        return e
    return None


# -- events and invalid events of real charts ----------------------------------------------------

def test_the_example_and_test_charts_load() -> None:
    assert {"todo", "auction", "notes", "txn"} <= set(LOADED)


@pytest.mark.parametrize(("name", "caller_type"), SENDERS)
@settings(max_examples=8)
@given(data=st.data())
def test_every_declared_event_is_drawn_valid(name: str, caller_type: str,
                                             data: st.DataObject) -> None:
    chart = LOADED[name]
    for etype in sorted(chart.schemas.events_for(caller_type)):
        event = data.draw(events(chart, caller_type, etype), label=etype)
        assert event["type"] == etype and "caller" not in event
        assert rejection(chart, caller_type, event) is None


@pytest.mark.parametrize("name", sorted(LOADED))
@settings(max_examples=12)
@given(data=st.data())
def test_invalid_events_are_all_rejected(name: str, data: st.DataObject) -> None:
    chart = LOADED[name]
    for caller_type in ("client", "service"):
        event = data.draw(invalid_events(chart, caller_type), label=caller_type)
        assert rejection(chart, caller_type, event) is not None


@settings(max_examples=30)
@given(data=st.data())
def test_auction_inputs_are_valid(data: st.DataObject) -> None:
    auction = LOADED["auction"]
    given_input = data.draw(inputs(auction))
    assert auction.schemas.validate_input(given_input) == given_input


def test_inputs_of_a_chart_without_an_input_schema_are_empty() -> None:
    assert set(map(orjson.dumps, drawn(inputs(LOADED["todo"]), 10))) == {b"{}"}


def test_texts_of_add_todo_vary() -> None:
    texts = {e["text"] for e in drawn(events(LOADED["todo"], "client", "ADD_TODO"), 30)}
    assert len(texts) >= 15
    assert all(1 <= len(t) <= 21 for t in texts)  # minLength 1, then at most 20 more


def test_every_member_of_an_enum_is_drawn() -> None:
    filters = {e["filter"] for e in drawn(events(LOADED["todo"], "client", "SET_FILTER"), 20)}
    assert filters == {"all", "active", "completed"}


def test_invalid_events_break_events_in_many_ways() -> None:
    todo = LOADED["todo"]
    problems = [rejection(todo, "client", e) for e in drawn(invalid_events(todo, "client"), 100)]
    pointers = {p.pointer for p in problems if p is not None}
    assert {"", "/type", "/caller", "/text", "/filter", "/unexpected"} <= pointers
    messages = " ".join(str(p) for p in problems)
    for kind in ("is a required property", "is not of type", "should be non-empty",
                 "Additional properties", "is not one of", "unknown event type",
                 "is a system event", "has no `type`"):
        assert kind in messages, kind


def test_invalid_events_break_nested_fields_and_use_other_callers_events() -> None:
    todo = LOADED["todo"]
    problems = [rejection(todo, "service", e) for e in drawn(invalid_events(todo, "service"), 100)]
    pointers = {p.pointer for p in problems if p is not None}
    assert any(p.startswith("/todos/0/") for p in pointers)
    assert "is a client-only event" in " ".join(str(p) for p in problems)


def test_a_caller_type_without_events_gets_invalid_events_too() -> None:
    lifecycle = LOADED["lifecycle"]
    assert not lifecycle.schemas.events_for("service")
    for event in drawn(invalid_events(lifecycle, "service"), 20):
        assert rejection(lifecycle, "service", event) is not None


def test_an_undeclared_event_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'SYNC_TODOS' is not an event client callers may"):
        events(LOADED["todo"], "client", "SYNC_TODOS")


def test_strategies_are_cached_per_chart_and_do_not_keep_it_alive() -> None:
    chart = load_chart(ROOT / "charts" / "todo.yaml")
    assert events(chart, "client", "ADD_TODO") is events(chart, "client", "ADD_TODO")
    assert invalid_events(chart, "client") is invalid_events(chart, "client")
    assert inputs(chart) is inputs(chart)
    drawn(invalid_events(chart, "client"), 5)
    gone = weakref.ref(chart)
    del chart
    gc.collect()
    assert gone() is None


SINK_SCHEMAS = """
definitions:
  tag: {type: string, pattern: "^[a-z]{2,5}$"}
client:
  ANYKEY: {type: object, patternProperties: {"^(type|caller|c.*)$": {type: integer}},
           additionalProperties: {type: boolean}}
  RICH:
    properties:
      when: {type: string, format: date-time}
      id: {type: string, format: uuid}
      tags: {type: array, items: {$ref: "#/definitions/tag"}, uniqueItems: true, maxItems: 3}
      pair: {type: array, items: [{type: integer}, {type: string}], additionalItems: false}
      level: {type: integer, exclusiveMinimum: 0, exclusiveMaximum: 4}
      price: {anyOf: [{type: number, minimum: 0, multipleOf: 0.01}, {type: "null"}]}
    required: [when, id, tags, pair, level, price]
  NEVER: false
"""


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Chart:
    root: Path = tmp_path_factory.mktemp("sink")
    (root / "schemas").mkdir()
    (root / "schemas" / "sink.yaml").write_text(SINK_SCHEMAS)
    (root / "sink.yaml").write_text(
        "actor: sink\nschemas: schemas/sink.yaml\nstatechart:\n  name: sink\n"
        "  root state:\n    name: root\n    transitions:\n"
        "      - {event: ANYKEY}\n      - {event: RICH}\n      - {event: NEVER}\n")
    return load_chart(root / "sink.yaml")


def test_payload_keys_never_clash_with_type_or_caller(sink: Chart) -> None:
    drawn_events = drawn(events(sink, "client", "ANYKEY"), 20)
    for event in drawn_events:
        assert event["type"] == "ANYKEY" and "caller" not in event
        assert rejection(sink, "client", event) is None
    keys = {k for e in drawn_events for k in e} - {"type"}
    assert any(k.startswith("c") for k in keys)  # from patternProperties
    assert any(not k.startswith("c") for k in keys)  # from additionalProperties


def test_a_rich_event_schema(sink: Chart) -> None:
    drawn_events = drawn(events(sink, "client", "RICH"), 30)
    assert all(rejection(sink, "client", e) is None for e in drawn_events)
    assert {e["level"] for e in drawn_events} == {1, 2, 3}
    assert {e["price"] is None for e in drawn_events} == {True, False}
    for event in drawn(invalid_events(sink, "client"), 20):
        assert rejection(sink, "client", event) is not None


def test_an_event_nobody_can_send_has_an_empty_strategy(sink: Chart) -> None:
    assert events(sink, "client", "NEVER").is_empty


# -- from_schema -------------------------------------------------------------------------------

DEFS = {"definitions": {"n": {"type": "integer", "minimum": 0, "maximum": 9},
                        "pos": {"$ref": "#/definitions/n"}}}
TABLE: list[Any] = [
    True,
    {},
    {"type": "null"},
    {"type": "boolean"},
    {"type": ["string", "null"]},
    {"type": "integer", "minimum": -3, "maximum": 3},
    {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2},
    {"type": "integer", "minimum": 0.5, "maximum": 2.5},
    {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
    {"type": "number", "minimum": 1, "exclusiveMaximum": 1.5},
    {"type": "integer", "multipleOf": 5, "minimum": 1, "maximum": 100},
    {"type": "number", "multipleOf": 0.01},
    {"type": "number", "multipleOf": 0.5, "exclusiveMinimum": 1, "exclusiveMaximum": 3},
    {"minimum": 10},
    {"type": "string", "minLength": 3, "maxLength": 5},
    {"type": "string", "minLength": 30},
    {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2,4}$"},
    {"type": "string", "pattern": "ab", "maxLength": 6},
    *({"type": "string", "format": f} for f in
      ("date-time", "date", "time", "email", "uuid", "uri", "hostname", "ipv4", "ipv6")),
    {"type": "string", "format": "some-unknown-format"},
    {"enum": ["a", 1, None, [1, 2], {"k": "v"}]},
    {"type": "string", "enum": ["a", 1, "b"]},
    {"const": {"exactly": ["this"]}},
    {"type": "array"},
    {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3},
    {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 3},
     "uniqueItems": True, "maxItems": 4},
    {"type": "array", "items": [{"type": "integer"}, {"type": "string"}]},
    {"type": "array", "items": [{"type": "integer"}, {"type": "string"}],
     "additionalItems": False, "minItems": 2},
    {"type": "array", "items": [{"const": 1}], "additionalItems": {"type": "boolean"},
     "minItems": 3},
    {"type": "array", "items": {"type": "integer"}, "contains": {"const": 7}},
    {"type": "array", "minItems": 8},
    {"type": "object"},
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
     "required": ["a"], "additionalProperties": False},
    {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 1},
    {"type": "object", "properties": {"a": {}, "b": {}, "c": {}}, "minProperties": 2,
     "maxProperties": 2, "additionalProperties": False},
    {"type": "object", "patternProperties": {"^x-": {"type": "boolean"}},
     "additionalProperties": False},
    {"properties": {"a": False, "b": {"type": "integer"}}},
    {"required": ["z"]},
    {"type": "object", "propertyNames": {"maxLength": 2}},
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
     "dependencies": {"a": ["b"]}},
    {"anyOf": [{"type": "integer", "minimum": 5}, {"type": "string", "maxLength": 2}]},
    {"oneOf": [{"type": "integer"}, {"type": "string"},
               {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5}]},
    {"allOf": [{"type": "integer", "minimum": 0}, {"type": "number", "maximum": 5},
               {"not": {"const": 3}}]},
    {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
               {"properties": {"a": {"minLength": 2}, "b": {"type": "boolean"}}}]},
    {"type": "integer", "not": {"enum": [0, 1, 2]}, "minimum": 0, "maximum": 5},
    {"not": {"type": ["string", "number", "null", "boolean", "array"]}},
    {"if": {"type": "integer"}, "then": {"minimum": 0}, "else": {"type": "string"}},
    {"$ref": "#/definitions/pos", **DEFS},
    {"type": "array", "items": {"$ref": "#/definitions/n"}, "minItems": 1, **DEFS},
]


@pytest.mark.parametrize("schema", TABLE, ids=lambda s: orjson.dumps(s).decode()[:60])
def test_from_schema_draws_valid_values(schema: Any) -> None:
    """Every value is valid, and nearly all are built valid, not filtered into shape."""
    validator = Validator(schema)
    built = schemavalues.Builder(schema).build(schema)
    assert built is not None
    pairs = drawn(st.tuples(from_schema(schema), built), 8)
    for value, _ in pairs:
        assert validator.error(value) is None, value
        assert orjson.loads(orjson.dumps(value)) == value  # plain JSON that round-trips
    assert sum(validator.error(b) is None for _, b in pairs) >= 0.75 * len(pairs)


def test_sizes_stay_small_unless_asked() -> None:
    assert max(len(s) for s in drawn(from_schema({"type": "string"}), 40)) <= 20
    assert max(len(a) for a in drawn(from_schema({"type": "array"}), 40)) <= 5
    longer = drawn(from_schema({"type": "string", "minLength": 30}), 20)
    assert all(30 <= len(s) <= 50 for s in longer)


def test_unique_items_are_never_drawn_twice() -> None:
    todo = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
    unique = drawn(from_schema({"type": "array", "items": todo, "uniqueItems": True}), 200)
    assert all(len({orjson.dumps(i) for i in v}) == len(v) for v in unique)


def test_numbers_are_finite_and_within_json_safe_bounds() -> None:
    numbers = drawn(from_schema({"type": "number"}), 60)
    assert all(math.isfinite(x) and abs(x) <= 2**53 for x in numbers)
    assert {type(x) for x in numbers} == {int, float}


def test_any_value_means_values_of_every_json_type() -> None:
    assert len({type(v) for v in drawn(from_schema(True), 40)}) >= 5


def test_ref_into_definitions() -> None:
    values = drawn(from_schema({"$ref": "#/definitions/pos", **DEFS}), 50)
    assert set(values) == set(range(10))


TREE = {"$ref": "#/definitions/tree", "definitions": {"tree": {
    "type": "object",
    "properties": {"value": {"type": "integer"},
                   "children": {"type": "array", "items": {"$ref": "#/definitions/tree"}}},
    "required": ["value", "children"], "additionalProperties": False}}}


def depth(tree: dict[str, Any]) -> int:
    return 1 + max((depth(c) for c in tree["children"]), default=0)


def test_a_recursive_ref_terminates() -> None:
    trees = drawn(from_schema(TREE), 40)
    assert max(map(depth, trees)) <= 3
    assert max(map(depth, trees)) >= 2


def test_a_ref_to_the_root_terminates() -> None:
    schema = {"type": "array", "items": {"$ref": "#"}, "maxItems": 2}
    assert all(isinstance(v, list) for v in drawn(from_schema(schema), 30))


def test_a_schema_without_values_is_an_empty_strategy() -> None:
    """`false`, and what the generator can tell has no values, give st.nothing()."""
    assert from_schema(False).is_empty
    assert from_schema({"type": "integer", "minimum": 5, "maximum": 4}).is_empty
    assert from_schema({"type": "object", "required": ["a"], "properties": {"a": False}}).is_empty
    assert from_schema({"allOf": [{"type": "string"}, {"type": "integer"}]}).is_empty
    assert from_schema({"not": {}}).is_empty


def test_only_local_refs_are_supported() -> None:
    with pytest.raises(ValueError, match="only local"):
        from_schema({"$ref": "https://example.com/schema.json"})


# -- callers -------------------------------------------------------------------------------------

def test_caller_pools_have_readable_names() -> None:
    assert client_pool(3) == [Caller.client("alice"), Caller.client("bob"),
                              Caller.client("carol")]
    assert client_pool(5)[3:] == [Caller.client("client-4"), Caller.client("client-5")]
    assert service_pool(1) == [Caller.service("sync")]
    assert service_pool(2)[1] == Caller.service("service-2")
    assert client_pool(0) == []


def test_callers_come_from_the_pools() -> None:
    assert set(drawn(callers(), 30)) == {*client_pool(3), *service_pool(1)}
    assert set(drawn(callers(clients=4, services=2), 40)) == {*client_pool(4), *service_pool(2)}
    assert set(drawn(callers(clients=0, services=1), 5)) == {Caller.service("sync")}
    with pytest.raises(ValueError, match="at least one"):
        callers(0, 0)
