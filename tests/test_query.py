"""Query strings read strictly: UTF-8, each parameter once, whole numbers in ASCII digits
within their bounds, JSON without duplicate keys."""

from __future__ import annotations

import pytest

from actorkit.server.query import MAX_DIGITS, BadRequest, Query


def query(raw: bytes) -> Query:
    return Query({"query_string": raw})


def test_parameters_read_as_given_and_absent_ones_as_the_default():
    q = query(b"a=1&b=&c=%C3%A9&d=x+y")
    assert (q.get("a"), q.get("b"), q.get("c"), q.get("d")) == ("1", "", "é", "x y")
    assert q.get("missing") is None and q.get("missing", "z") == "z"
    assert query(b"").get("a") is None


def test_a_parameter_given_twice_is_refused_when_read_and_only_then():
    q = query(b"a=1&a=2&cachebust=1&cachebust=2&b=3")
    with pytest.raises(BadRequest) as info:
        q.get("a")
    assert info.value.message == "Invalid a: given more than once; give it once"
    with pytest.raises(BadRequest, match="given more than once"):
        q.json("a")
    with pytest.raises(BadRequest, match="given more than once"):
        q.integer("a", 0, minimum=0)
    assert q.get("b") == "3"  # a client's own repeated parameters are not ours to judge


@pytest.mark.parametrize("raw", [b"input=%FF", b"input=%C3", b"input=\xff", b"a%FE=1"])
def test_a_query_string_that_is_not_utf8_is_refused(raw):
    with pytest.raises(BadRequest, match="not UTF-8"):
        query(raw)


@pytest.mark.parametrize(("raw", "value"), [
    ("0", 0), ("7", 7), ("1000", 1000), ("007", 7), ("-1", -1), ("9" * MAX_DIGITS, None),
])
def test_whole_numbers_in_ascii_digits_within_bounds_are_taken(raw, value):
    q = query(b"n=" + raw.encode())
    maximum = 10**MAX_DIGITS if value is None else 1000
    assert q.integer("n", 5, minimum=-1, maximum=maximum) == int(raw)


@pytest.mark.parametrize("raw", [
    "²", "³", "٣", "\uff11", "৩", " 3", "3 ", "+3", "3_000", "1.5", "1e3", "0x10", "", "-", "--1",
    "-0x1", "1001", "-2", "9" * (MAX_DIGITS + 1), "1" + "0" * 5000,
])
def test_anything_else_is_refused_naming_the_bounds(raw):
    q = query(b"n=" + raw.encode())
    with pytest.raises(BadRequest) as info:
        q.integer("n", 5, minimum=-1, maximum=1000, unit=" of things")
    assert info.value.message == "Invalid n: a whole number of things from -1 to 1000, in " \
                                 "digits 0-9"


def test_a_negative_number_is_refused_where_the_minimum_is_not():
    with pytest.raises(BadRequest, match="from 1 to 10"):
        query(b"n=-1").integer("n", 5, minimum=1, maximum=10)
    with pytest.raises(BadRequest, match=f"of at least 0 and at most {MAX_DIGITS} digits"):
        query(b"n=" + b"9" * (MAX_DIGITS + 1)).integer("n", 5, minimum=0)
    assert query(b"").integer("n", 5, minimum=1, maximum=10) == 5


def test_json_parameters_are_parsed_strictly():
    assert query(b"input=%7B%22a%22%3A1%7D").json("input") == {"a": 1}
    assert query(b"").json("input") is None
    with pytest.raises(BadRequest) as info:
        query(b"input=%7B%22a%22%3A1%2C%22a%22%3A2%7D").json("input")
    assert info.value.message.startswith('Invalid input: the key "a" appears twice')
    with pytest.raises(BadRequest, match="Invalid input: not JSON"):
        query(b"input=%7B").json("input")
