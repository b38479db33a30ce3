"""JSON values as actorkit stores them: integers orjson would round and non-finite floats
it would write as null are found, with their pointer; everything else passes untouched."""

from __future__ import annotations

import math
from collections import OrderedDict

import orjson
import pytest

from actorkit import jsonvalue
from actorkit.jsonvalue import INT_MAX, INT_MIN, InexactNumber, NotJSON


@pytest.mark.parametrize(("raw", "pointer"), [
    (b'{"type": "SET", "value": 18446744073709551616}', "/value"),
    (b'[1, {"a/b": [2, -9223372036854775809]}]', "/1/a~1b/1"),
    (b'{"v": 1' + b"0" * 400 + b"}", "/v"),  # orjson reads it as infinity, and refuses it
    (b'{"x": -1' + b"0" * 5000 + b"}", "/x"),  # more digits than Python converts to int
    ('{"n": 1267650600228229401496703205376}', "/n"),
])
def test_loads_refuses_integers_it_cannot_keep_exactly(raw, pointer):
    with pytest.raises(InexactNumber) as info:
        jsonvalue.loads(raw)
    assert info.value.pointer == pointer
    assert f"at {pointer} is beyond what actorkit stores exactly" in info.value.message
    assert info.value.message.endswith("send it as a string")
    assert len(info.value.message) < 200  # a long number is quoted in part


@pytest.mark.parametrize("raw", [
    b'{"n": 18446744073709551615, "m": -9223372036854775808}',
    b'{"digits": "123456789012345678901234567890"}',
    b"[1.8446744073709552e19, 0.1234567890123456789012]",
    b'{"v": null}',
])
def test_loads_reads_what_it_keeps_exactly_as_orjson_does(raw):
    assert jsonvalue.loads(raw) == orjson.loads(raw)


def test_loads_leaves_json_errors_to_orjson():
    with pytest.raises(orjson.JSONDecodeError):
        jsonvalue.loads(b'{"n": 12345678901234567890123')


@pytest.mark.parametrize(("value", "pointer"), [
    ({"a": [1, None, math.inf]}, "/a/2"),
    ({"a": {"b": -math.inf}}, "/a/b"),
    ([None, math.nan], "/1"),
    ({"big": INT_MAX + 1}, "/big"),
    ({"small": INT_MIN - 1}, "/small"),
    ({"set": {1}}, "/set"),
])
def test_copy_refuses_what_json_cannot_carry_with_its_pointer(value, pointer):
    with pytest.raises(NotJSON) as info:
        jsonvalue.copy(value)
    assert info.value.pointer == pointer
    assert str(info.value).startswith(f"at {pointer}: ")


def test_copy_copies_json():
    value = {"a": [1, None, 1.5, INT_MAX, INT_MIN, "nan", True]}
    copied = jsonvalue.copy(value)
    assert copied == value and copied is not value and copied["a"] is not value["a"]


@pytest.mark.parametrize(("value", "pointer"), [
    ({"a": None, "b": [1.0, math.nan]}, "/p/b/1"),
    ({"a": None, "b": OrderedDict(c=math.inf)}, "/p/b/c"),  # marshal refuses it: walked
    ({"a": None, "b": "g\x00\x00\x00\x00\x00\x00\xf0\x7f", "c": 2**62}, None),
    ({"a": None, "b": 1e308, "c": -0.0}, None),
    ({"a": math.inf}, "/p/a"),
])
def test_not_json_finds_a_non_finite_float_behind_a_null(value, pointer):
    data = orjson.dumps(value)
    assert jsonvalue.not_json(value, data, "/p") == pointer


def test_not_json_needs_no_look_without_a_null():
    # without a null in its JSON nothing can hide: the value is not even looked at
    assert jsonvalue.not_json(object(), b'{"a": 1}', "") is None
