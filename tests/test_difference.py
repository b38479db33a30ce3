"""Where two JSON documents first differ: the pointer and both values there, shown so that the
difference is in sight however long the documents are."""

from __future__ import annotations

import pytest
from support import alice

from actorkit.difference import ABSENT, Difference, first_difference
from actorkit.testing import PropertyFailure, Scenario


def shown(left, right) -> str:
    found = first_difference(left, right)
    assert found is not None
    return found.describe("replayed", "stored")


def test_equal_documents_have_no_difference():
    doc = {"b": [1, {"c": None}], "a": "x"}
    assert first_difference(doc, {"a": "x", "b": [1, {"c": None}]}) is None
    assert first_difference((1, 2), [1, 2]) is None  # a tuple is written as a list


def test_the_first_difference_in_key_order_is_named_by_its_pointer():
    stored = {"context": {"todos": [{"done": False}] * 3 + [{"done": False, "id": "a/b~c"}]}}
    replayed = {"context": {"todos": [{"done": False}] * 3 + [{"done": True, "id": "a/b~c"}]}}
    assert shown(replayed, stored) == "/context/todos/3/done: replayed true, stored false"
    assert shown({"k/~": 1, "z": 1}, {"k/~": 2, "z": 2}) == "/k~1~0: replayed 1, stored 2"


def test_a_value_one_side_lacks_is_nothing():
    assert shown({"a": 1}, {"a": 1, "b": [2]}) == "/b: replayed nothing, stored [2]"
    assert shown([1, 2, 3], [1, 2]) == "/2: replayed 3, stored nothing"
    found = first_difference([], [{"x": 1}])
    assert found == Difference("/0", ABSENT, {"x": 1})


@pytest.mark.parametrize(("left", "right", "text"), [
    (1, 1.0, "replayed 1, stored 1.0"),
    (True, 1, "replayed true, stored 1"),
    ({"a": 1}, [1], 'replayed {"a":1}, stored [1]'),
])
def test_values_equal_in_python_but_not_in_json_differ(left, right, text):
    assert shown({"v": left}, {"v": right}) == f"/v: {text}"


def test_a_whole_document_of_another_kind_is_said_so():
    assert shown({"a": 1}, "garbage") == 'the whole document: replayed {"a":1}, stored "garbage"'


def test_long_values_are_cut_around_where_they_differ():
    # two 2,000-character strings that differ only near their end: cut at the same place from
    # the start, both sides would read the same
    left, right = "x" * 1990 + "LEFT tail", "x" * 1990 + "RIGHT tail"
    text = shown({"note": left}, {"note": right})
    assert "LEFT" in text and "RIGHT" in text
    assert "(2,001 characters)" in text and "(2,002 characters)" in text
    assert len(text) < 300
    # differing at once: each from its start
    text = shown({"note": "a" * 500}, {"note": "b" * 500})
    assert 'replayed "aaa' in text and 'stored "bbb' in text and len(text) < 300


# -- what the property tester says ------------------------------------------------------------

CHART = """\
actor: stamps
hooks: hooks.stamps
schemas: schemas/stamps.yaml
context:
  public: {items: []}
statechart:
  name: stamps
  root state:
    name: root
    transitions:
      - {event: ADD, action: add}
      - {event: STAMP, action: stamp}
"""

# A hook that keeps state outside the context: the restored actor, which runs each event
# after the original, counts differently. The difference lies past a long text.
HOOKS = """\
_seen = []


def add(ctx, event):
    _seen.append(event.data["text"])
    ctx.public["items"].append({"text": event.data["text"], "turn": len(_seen)})


def stamp(ctx, event):
    _seen.append("")
    ctx.emit("STAMPED", turn=len(_seen))
"""

SCHEMAS = """\
client:
  ADD:
    properties:
      text: {type: string}
    required: [text]
  STAMP: {}
output:
  STAMPED:
    properties:
      turn: {type: integer}
"""


@pytest.fixture
def stamps(tmp_path) -> Scenario:
    for name, text in (("charts/stamps.yaml", CHART), ("hooks/stamps.py", HOOKS),
                       ("schemas/stamps.yaml", SCHEMAS)):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    return Scenario(tmp_path / "charts" / "stamps.yaml").spawn(str(alice))


def test_restore_differs_names_where_and_both_values(stamps):
    s = stamps
    with pytest.raises(PropertyFailure) as caught:
        s.send(str(alice), {"type": "ADD", "text": "a long line of text " * 20})
    assert caught.value.check == "restore-differs"
    assert str(caught.value) == (
        "restore-differs: the actor restored from a snapshot differs from the one never "
        "restored at /context/public/items/0/turn: restored 2, never restored 1")


def test_a_restored_actor_that_answers_differently_is_told_where(stamps):
    with pytest.raises(PropertyFailure) as caught:
        stamps.send(str(alice), {"type": "STAMP"})
    assert str(caught.value) == (
        "restore-differs: sending STAMP: the restored actor's result differs from the never "
        "restored one's at /0/outputs/0/turn: restored 2, never restored 1")
