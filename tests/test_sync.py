"""Views, checksums and JSON Patch diffs: what the wire carries."""

from __future__ import annotations

import hypothesis.strategies as st
import orjson
import pytest
from hypothesis import given, settings

from actorkit.sync import (
    PatchError,
    View,
    ViewCache,
    Views,
    apply_patch,
    canonical,
    checksum,
    diff,
    view_bytes,
    view_checksum,
)

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


# -- views and the cache of them -------------------------------------------------------------

def views(public: object, **buckets: object) -> Views:
    return Views(canonical(public), {k: canonical(v) for k, v in buckets.items()},
                 b'"ready"', b"{}")


def test_a_views_checksum_and_size_are_those_of_its_json_made_only_when_asked():
    view = views({"todos": ["milk"]}, alice={"filter": "all"}).of("alice")
    made = view_bytes(canonical({"todos": ["milk"]}), canonical({"filter": "all"}), b'"ready"')
    assert view.json == made and view.checksum == checksum(made) and view.size == len(made)
    assert view.checksum == view_checksum(view.public_json, view.private_json, view.value_json)
    assert "json" not in View.__slots__  # not kept: the parts are, shared by every view


def test_the_view_cache_is_bounded_in_bytes_and_puts_out_the_oldest_first():
    cache = ViewCache(limit=1000)
    made = [views({"n": i, "pad": "x" * 150}).of("a") for i in range(10)]
    for i, view in enumerate(made):
        cache.put(view, now=float(i))
        assert cache.bytes <= 1000
    assert cache.bytes == sum(v.size for v in made[-len(cache):])
    kept = [v for v in made if cache.get(v.checksum, now=10.0) is v]
    assert kept == made[-len(cache):] and 4 <= len(kept) < 10
    cache.put(made[-len(cache)], now=11.0)  # put again: the newest now
    cache.put(views({"n": 99, "pad": "x" * 150}).of("a"), now=12.0)
    assert cache.get(made[-len(cache)].checksum, now=12.0) is not None


def test_a_view_larger_than_the_cache_is_not_kept_and_old_ones_expire():
    cache = ViewCache(limit=1000, ttl=60.0)
    small = views({"n": 1}).of("a")
    cache.put(small, now=0.0)
    cache.put(views({"pad": "x" * 2000}).of("a"), now=0.0)
    assert len(cache) == 1 and cache.get(small.checksum, now=60.0) is small
    assert cache.get(small.checksum, now=61.0) is None


def test_released_views_are_parsed_again_when_needed():
    made = views({"todos": ["milk"]}, alice={"filter": "all"})
    view = made.of("alice")
    first = view.data
    made.release()
    again = view.data
    assert again == first and again["public"] is not first["public"]
