"""JSON from clients read strictly (UTF-8, no key named twice in one object), and the actor
id of a request's path read from the path as sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actorkit import ActorIdError
from actorkit.server.wire import Malformed, check_path_id, loads

# -- duplicate keys ------------------------------------------------------------------------------

# A few keys, so that objects often repeat one; ':' and '"' where a counting shortcut could
# be fooled; strings that hold what looks like JSON.
KEYS = st.sampled_from(["type", "a", "b", ":", "a:b", '"', '":', "é", ""])
STRINGS = st.sampled_from(["", "x", ":", "::", '":"', '{"a": 1}', "12:30", "\\", "é:"])


def documents() -> st.SearchStrategy[Any]:
    """JSON values whose objects are lists of pairs: a key may come more than once."""
    leaves = st.none() | st.booleans() | st.integers(-5, 5) | STRINGS
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4).map(lambda items: ("list", items))
        | st.lists(st.tuples(KEYS, inner), max_size=4).map(lambda pairs: ("object", pairs)),
        max_leaves=12)


def encode(value: Any, escape: Any) -> str:
    """The JSON text of a :func:`documents` value; ``escape(s)`` writes each string (some
    with \\u escapes, some with a space before the ':' of a key)."""
    if isinstance(value, tuple):
        kind, items = value
        if kind == "list":
            return "[" + ",".join(encode(item, escape) for item in items) + "]"
        return "{" + ",".join(f"{escape(k)}{' ' if len(k) % 2 else ''}:{encode(v, escape)}"
                              for k, v in items) + "}"
    if isinstance(value, str):
        return escape(value)
    return json.dumps(value)


def has_duplicates(value: Any) -> bool:
    if isinstance(value, tuple):
        kind, items = value
        if kind == "object":
            keys = [k for k, _ in items]
            return len(set(keys)) != len(keys) or any(has_duplicates(v) for _, v in items)
        return any(has_duplicates(item) for item in items)
    return False


@st.composite
def escapers(draw: st.DrawFn) -> Any:
    how = draw(st.sampled_from(["plain", "ascii", "colon"]))
    if how == "plain":
        return lambda s: json.dumps(s, ensure_ascii=False)
    if how == "ascii":
        return lambda s: json.dumps(s, ensure_ascii=True)
    return lambda s: json.dumps(s, ensure_ascii=False).replace(":", "\\u003a")


@settings(max_examples=400)
@given(documents(), escapers(), st.booleans())
def test_a_document_is_refused_exactly_when_an_object_names_a_key_twice(doc, escape, as_bytes):
    text = encode(doc, escape)
    data: bytes | str = text.encode() if as_bytes else text
    if has_duplicates(doc):
        with pytest.raises(Malformed, match="appears twice in one object"):
            loads(data)
    else:
        assert loads(data) == json.loads(text)


@pytest.mark.parametrize(("text", "key"), [
    ('{"type": "A", "type": "B"}', "type"),
    ('{"type":"A","x":{"k":1,"k":2}}', "k"),
    ('[{"a": 1}, {"b": 1, "b": 1}]', "b"),
    ('{"a": "\\u003a", "a": 1}', "a"),  # the escaped ':' makes the count come out right
    ('{"t\\u0065xt": 1, "text": 2}', "text"),  # one key, spelt two ways
    ('{"café": 1, "caf\\u00e9": 2}', "café"),
    ('{"' + "k" * 100 + '": 1, "' + "k" * 100 + '": 2}', "k" * 40 + "..."),
])
def test_the_refusal_names_the_key(text, key):
    with pytest.raises(Malformed) as info:
        loads(text)
    assert str(info.value) == f'the key "{key}" appears twice in one object: give each key once'


def test_what_is_not_json_or_not_utf8_is_refused_saying_which():
    with pytest.raises(Malformed, match=r"^not UTF-8 \(byte 10 is not"):
        loads(b'{"text": "\xff"}')
    with pytest.raises(Malformed, match=r"^not JSON \("):
        loads(b'{"text": ')
    with pytest.raises(Malformed, match=r"^not JSON \("):
        loads("NaN")


def test_nesting_deeper_than_the_exact_check_can_follow_is_refused_not_a_crash():
    deep = '{"a":' * 1000 + '{"a": 1, "a": 2}' + "}" * 1000
    with pytest.raises(Malformed, match="nested too deeply"):
        loads(deep)


# -- the actor id of a path ------------------------------------------------------------------------

def scope(raw_path: bytes | None) -> dict[str, Any]:
    return {} if raw_path is None else {"raw_path": raw_path}


@pytest.mark.parametrize(("raw", "actor_id"), [
    (b"/api/todo/list-1", "list-1"),
    (b"/api/todo/my%20list", "my list"),
    (b"/api/todo/caf%C3%A9/events", "café"),
    (b"/api/todo/%EF%BF%BD", "\ufffd"),  # U+FFFD as the UTF-8 it is: an ordinary id
    (None, "list-1"),  # a server that gives no raw path: the id as decoded
])
def test_ids_sent_as_utf8_pass(raw, actor_id):
    check_path_id(scope(raw), actor_id)


@pytest.mark.parametrize(("raw", "actor_id", "words"), [
    (b"/api/todo/%FF", "\ufffd", "not UTF-8"),
    (b"/api/todo/%FE", "\ufffd", "not UTF-8"),
    (b"/api/todo/ok%C3", "ok\ufffd", "not UTF-8"),
    (b"/api/todo/x%2Fevents", "x", "holds '/' (as %2F)"),
    (b"/api/todo/x%2fevents", "x", "holds '/' (as %2F)"),
    (b"/api/todo/a%00b", "a\x00b", "U+0000"),
    (None, "a\r\nb", "U+000D"),
])
def test_ids_that_break_the_rule_as_sent_are_refused(raw, actor_id, words):
    with pytest.raises(ActorIdError, match="Invalid actor id") as info:
        check_path_id(scope(raw), actor_id)
    assert words in str(info.value)
