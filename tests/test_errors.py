"""Error messages: what a caller sent is quoted at most as a short excerpt, wherever it ends up
(an answer, an error frame, a journal entry, a log line)."""

from __future__ import annotations

import pytest
from support import alice, chart

from actorkit import Actor, ActorkitError, ChartError, EventRejected, HookError
from actorkit.diagnostics import Diagnostic
from actorkit.errors import MAX_MESSAGE, excerpt

BIG = 10_000_000


def test_a_short_text_is_left_as_it_is():
    assert excerpt("x" * MAX_MESSAGE) == "x" * MAX_MESSAGE


def test_a_long_text_keeps_its_start_and_end_and_says_how_much_is_left_out():
    cut = excerpt("<" + "x" * BIG + "> is too long")
    assert len(cut) < MAX_MESSAGE + 50
    assert cut.startswith("<xxx") and cut.endswith("xxx> is too long")
    assert f"[{BIG + 14 - 400:,} characters left out]" in cut


def test_every_actorkit_error_message_is_bounded_but_a_charts_diagnostics_are_not():
    assert len(str(HookError("y" * BIG, hook="h", where="w"))) < MAX_MESSAGE + 50
    assert len(str(ActorkitError("y" * BIG))) < MAX_MESSAGE + 50
    problems = [Diagnostic("c.yaml", n, 1, "AK203", "x" * 80) for n in range(1, 20)]
    assert str(ChartError(problems)).count("\n") == 18  # the operator's own files: all


@pytest.fixture(scope="module")
def txn():
    return chart("txn")


@pytest.mark.parametrize(("event", "field"), [
    ({"type": "SAY", "words": 7, "x" * BIG: 1}, "pointer"),          # a 10 MB unknown key
    ({"type": "Y" * BIG}, "event_type"),                            # a 10 MB event type
    ({"type": "INC", "by": "z" * BIG}, "message"),                  # a 10 MB wrong value
])
def test_an_event_with_a_huge_bad_part_is_rejected_with_short_parts(txn, event, field):
    actor = Actor.spawn(txn, "t-1", caller=alice)
    with pytest.raises(EventRejected) as info:
        actor.send(event, alice)
    e = info.value
    assert len(str(e)) < MAX_MESSAGE + 50
    assert len(e.message) < MAX_MESSAGE + 50 and len(e.pointer) < 250
    assert e.event_type is None or len(e.event_type) < 150
    assert "characters left out" in getattr(e, field)

