"""Views, checksums and JSON Patch diffs: what the wire carries."""

from __future__ import annotations

import hypothesis.strategies as st
import orjson
import pytest
from hypothesis import given, settings

from actorkit.sync import PatchError, apply_patch, canonical, checksum, diff, view_bytes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False,
                                                                 allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["a", "b", "c/d", "e~f", "", "0"]), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=400)
@given(json_values, json_values)
def test_a_diff_turns_the_old_value_into_the_new_one(old, new):
    ops = diff(old, new)
    patched = apply_patch(old, ops)
    assert canonical(patched) == canonical(new)
    assert (ops == []) == (canonical(old) == canonical(new))


@given(json_values)
def test_a_value_diffed_with_itself_gives_nothing(value):
    assert diff(value, orjson.loads(orjson.dumps(value))) == []


def test_ops_match_actor_kits_differ():
    # fast-json-patch compare: removals from the end, replacements in place, additions after
    assert diff({"todos": [1, 2, 3]}, {"todos": [1]}) == [
        {"op": "remove", "path": "/todos/2"}, {"op": "remove", "path": "/todos/1"}]
    assert diff({"todos": [1]}, {"todos": [1, 2, 3]}) == [
        {"op": "add", "path": "/todos/1", "value": 2},
        {"op": "add", "path": "/todos/2", "value": 3}]
    assert diff({}, {"public": {"a": 1}, "private": {}, "value": "idle"}) == [
        {"op": "add", "path": "/public", "value": {"a": 1}},
        {"op": "add", "path": "/private", "value": {}},
        {"op": "add", "path": "/value", "value": "idle"}]
    assert diff({"a/b": {"x": 1}}, {"a/b": {"x": 2}}) == [
        {"op": "replace", "path": "/a~1b/x", "value": 2}]


@pytest.mark.parametrize(("old", "new"), [(1, True), (0, False), (1, 1.0), ([1], [True]),
                                          ({"n": 0}, {"n": False})])
def test_values_python_calls_equal_are_still_different(old, new):
    assert diff(old, new) != []
    assert canonical(apply_patch(old, diff(old, new))) == canonical(new)


def test_checksums_are_sha256_of_canonical_json():
    view = {"value": "idle", "public": {"b": 1, "a": [1, 2]}, "private": {}}
    expected = checksum(b'{"private":{},"public":{"a":[1,2],"b":1},"value":"idle"}')
    assert checksum(canonical(view)) == expected
    assert len(expected) == 64 and int(expected, 16) >= 0
    assert view_bytes(canonical(view["public"]), b"{}", b'"idle"') == canonical(view)


def test_patches_that_do_not_apply_say_so():
    with pytest.raises(PatchError):
        apply_patch({"a": 1}, [{"op": "replace", "path": "/b", "value": 2}])
    with pytest.raises(PatchError):
        apply_patch({"a": []}, [{"op": "remove", "path": "/a/3"}])
    assert apply_patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2},
                                    {"op": "copy", "from": "/a", "path": "/b"},
                                    {"op": "move", "from": "/b", "path": "/c"},
                                    {"op": "test", "path": "/c", "value": [1, 2]}]) == {
        "a": [1, 2], "c": [1, 2]}
