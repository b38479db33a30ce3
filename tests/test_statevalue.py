"""State values in XState's shape, and XState's matchesState."""

from __future__ import annotations

import pytest
from support import alice, chart

from actorkit import Actor, matches_state


def test_values_have_xstates_shape(clock):
    todo = Actor.spawn(chart("txn"), "t", caller=alice, clock=clock)
    assert todo.value == "idle"  # compound root, atomic child: a string
    player = Actor.spawn(chart("history"), "p", caller=alice, clock=clock)
    # nested compound states are objects; a parallel state maps each region
    assert player.value == {"on": {"main": {"playing": {"audio": "stereo",
                                                        "deck": {"track": "intro"}}}}}
    player.send({"type": "POWER"}, alice)
    assert player.value == "off"
    timers = Actor.spawn(chart("timers"), "x", caller=alice, clock=clock)
    # an atomic region of a parallel state is {} (XState does the same)
    assert timers.value == {"door": "closed", "lamp": "off", "reminders": {}}


@pytest.mark.parametrize(("parent", "child", "expected"), [
    ("a", "a", True),
    ("a", "b", False),
    ("a", {"a": "b"}, True),
    ({"a": "b"}, "a", False),
    ({"a": "b"}, {"a": "b"}, True),
    ({"a": "b"}, {"a": "c"}, False),
    ("a.b", {"a": "b"}, True),
    ("a.b", {"a": {"b": "c"}}, True),
    ({"a": {}}, {"a": "b"}, False),  # as XState: {} is "more specific" than a leaf
    ({"p": {"x": "1", "y": "2"}}, {"p": {"x": "1", "y": "2"}}, True),
    ({"p": {"x": "1", "y": "3"}}, {"p": {"x": "1", "y": "2"}}, False),
    ({"p": {"x": "1"}}, {"p": {"x": "1", "y": "2"}}, True),
    ({"q": "1"}, {"p": {"x": "1"}}, False),
])
def test_matches_state_like_xstate(parent, child, expected):
    assert matches_state(parent, child) is expected
