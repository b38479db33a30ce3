"""What a client is told of a failed step, and what the server's log gets
(actorkit.server.failures): outside development only the kind, the hook, the event type and a
reference; the details, under that reference, in the log."""

from __future__ import annotations

import logging
import re

import pytest
from support import alice, chart

from actorkit import Actor, HookError, SnapshotError, StepError
from actorkit.server.failures import failure

AFTERWARDS = "the actor is as it was. The server's log has the details under that reference"


def step_error(event_type: str) -> StepError:
    actor = Actor.spawn(chart("txn"), "t", caller=alice, input={})
    with pytest.raises(StepError) as caught:
        actor.send({"type": event_type}, alice)
    return caught.value


@pytest.mark.parametrize(("event_type", "kind", "told"), [
    ("BOOM", "HookError", "hook boom failed"),
    ("SEND_IN_GUARD", "HookError", "hook send failed"),
    ("BREAK_PRIVATE", "ContextError",
     "the step would leave the actor's context outside its schemas"),
    ("SETSET", "ContextError", "the step would leave the actor's context outside its schemas"),
    ("AMBIG", "NondeterminismError",
     "the chart has more than one transition for it and cannot choose"),
    ("EMIT_BAD", "OutputError", "the step emitted an output event its schema refuses"),
    ("LOOP", "StepLimitError", "the event never settled: the chart loops"),
])
def test_outside_development_a_client_is_told_the_kind_and_a_reference(
        caplog, event_type, kind, told):
    error = step_error(event_type)
    with caplog.at_level(logging.ERROR, logger="actorkit"):
        result = failure(error, dev=False, doing=f"POST txn/t ({event_type})")
    body = result.body
    assert result.status == 500
    assert re.fullmatch(r"[0-9a-f]{8}", body["ref"])
    assert body["error"] == f"{told} on {event_type} (reference {body['ref']}); {AFTERWARDS}"
    assert (body["kind"], body["type"]) == (kind, event_type)
    assert body.get("hook") == (error.hook if isinstance(error, HookError) else None)
    # the log has it all, under the same reference
    [record] = caplog.records
    assert record.getMessage() == \
        f"POST txn/t ({event_type}) failed (reference {body['ref']}): {kind}: {error}"
    assert record.exc_info is not None


def test_the_log_has_the_traceback_of_what_the_hook_raised(caplog):
    with caplog.at_level(logging.ERROR, logger="actorkit"):
        failure(step_error("BOOM"), dev=False, doing="POST txn/t")
    assert 'raise RuntimeError("kaboom")' in caplog.text  # the line of the hooks file
    assert "tests/charts/hooks/txn.py" in caplog.text


def test_in_development_a_client_is_told_everything_too(caplog):
    error = step_error("BOOM")
    with caplog.at_level(logging.ERROR, logger="actorkit"):
        body = failure(error, dev=True, doing="POST txn/t").body
    assert body["error"] == str(error)
    assert "kaboom" in body["error"] and "txn.py" in body["error"]
    assert (body["kind"], body["hook"], body["type"]) == ("HookError", "boom", "BOOM")
    assert body["ref"] in caplog.text


def test_inline_code_is_named_by_where_it_is_not_by_its_text(caplog):
    error = HookError("inline code `secret == '1234'` (guard of transition a -> b on GO) "
                      "raised NameError", hook="secret == '1234'",
                      where="guard of transition a -> b on GO")
    with caplog.at_level(logging.ERROR, logger="actorkit"):
        body = failure(error, dev=False, doing="POST x/y").body
    assert body["hook"] == "inline code (guard of transition a -> b on GO)"
    assert "1234" not in body["error"]


def test_a_stored_actor_that_cannot_come_back(caplog):
    error = SnapshotError("the snapshot in /srv/app/.actorkit/actors.db is of chart version 3")
    with caplog.at_level(logging.ERROR, logger="actorkit"):
        body = failure(error, dev=False, doing="GET x/y").body
    assert body["error"] == (f"the stored actor cannot be brought back (reference "
                             f"{body['ref']}); {AFTERWARDS}")
    assert (body["kind"], body["type"]) == ("SnapshotError", None)
    assert "/srv/app" in caplog.text


@pytest.mark.parametrize("dev", [False, True])
def test_an_event_past_a_bound_is_the_senders_409_told_whole_and_not_logged(caplog, dev):
    actor = Actor.spawn(chart("txn"), "t", caller=alice, input={})
    with pytest.raises(StepError) as caught:
        actor.send({"type": "INC", "by": 2_000_000}, alice)
    with caplog.at_level(logging.DEBUG, logger="actorkit"):
        result = failure(caught.value, dev=dev, doing="POST txn/t")
    assert result.status == 409
    assert result.body == {"error": str(caught.value), "kind": "BoundError", "type": "INC"}
    assert "would be above 1000000" in result.body["error"]
    assert not caplog.records
