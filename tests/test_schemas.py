"""The schemas file: events checked by caller type, defaults, definitions, input."""

from __future__ import annotations

import pytest

from actorkit import EventRejected
from actorkit.schemas import schemas_from_source
from actorkit.source import parse_yaml

SCHEMAS = """
definitions:
  item: {type: object, properties: {n: {type: integer}}, required: [n]}
input:
  type: object
  properties: {size: {type: integer, minimum: 1}}
  required: [size]
client:
  ADD: {properties: {item: {$ref: "#/definitions/item"}}, required: [item]}
  PING:
  OPEN: {type: object, additionalProperties: true}
service:
  ADD: {properties: {item: {$ref: "#/definitions/item"}, force: {type: boolean}}}
  SYNC: {}
internal: [TICK]
"""


@pytest.fixture(scope="module")
def schemas():
    found, diags = schemas_from_source(parse_yaml(SCHEMAS, "s.yaml"))
    assert diags == []
    return found


def test_payload_comes_back_without_type(schemas):
    assert schemas.validate_event("client", {"type": "ADD", "item": {"n": 1}}) == (
        "ADD", {"item": {"n": 1}})


@pytest.mark.parametrize("caller, name", [("client", "PING"), ("service", "SYNC")])
def test_a_null_or_empty_schema_means_no_fields(schemas, caller, name):
    assert schemas.validate_event(caller, {"type": name}) == (name, {})
    with pytest.raises(EventRejected, match="Additional properties are not allowed"):
        schemas.validate_event(caller, {"type": name, "x": 1})


def test_extra_fields_are_refused_unless_the_schema_allows_them(schemas):
    with pytest.raises(EventRejected, match="'force' was unexpected"):
        schemas.validate_event("client", {"type": "ADD", "item": {"n": 1}, "force": True})
    assert schemas.validate_event("service", {"type": "ADD", "force": True})[1] == {"force": True}
    assert schemas.validate_event("client", {"type": "OPEN", "any": 1})[1] == {"any": 1}


def test_definitions_are_shared_and_errors_point_inside(schemas):
    with pytest.raises(EventRejected) as info:
        schemas.validate_event("client", {"type": "ADD", "item": {"n": "one"}})
    assert info.value.pointer == "/item/n"
    assert "'one' is not of type 'integer'" in info.value.message


def test_each_caller_type_has_its_own_events(schemas):
    with pytest.raises(EventRejected, match="SYNC is a service-only event"):
        schemas.validate_event("client", {"type": "SYNC"})
    with pytest.raises(EventRejected) as info:
        schemas.validate_event("client", {"type": "TICK"})
    assert ("unknown event type 'TICK' for client callers: declare it under `client:` in "
            "s.yaml") in str(info.value)
    with pytest.raises(EventRejected, match="cannot send events from outside the runtime"):
        schemas.validate_event("system", {"type": "ADD"})


def test_payloads_are_copied(schemas):
    item = {"n": 1}
    _, payload = schemas.validate_event("client", {"type": "ADD", "item": item})
    payload["item"]["n"] = 2
    assert item == {"n": 1}


def test_input(schemas):
    assert schemas.validate_input({"size": 3}) == {"size": 3}
    with pytest.raises(EventRejected, match="input rejected at /size: 0 is less than the "
                                            "minimum of 1"):
        schemas.validate_input({"size": 0})
    with pytest.raises(EventRejected, match="'size' is a required property"):
        schemas.validate_input(None)


def test_default_input_is_the_empty_object():
    found, _ = schemas_from_source(parse_yaml("client: {}", "s.yaml"))
    assert found.validate_input(None) == {}
    with pytest.raises(EventRejected):
        found.validate_input({"anything": 1})


def test_a_pattern_python_cannot_read_still_gives_a_message():
    from actorkit.schemas import Validator

    letters = Validator({"type": "string", "pattern": "^\\p{L}+$"})  # Unicode classes: Rust only
    assert letters.error("héllo") is None
    problem = letters.error("h3llo")
    assert "does not match" in problem.message and problem.pointer == ""
    assert problem.keyword == "pattern"
