"""The actor: spawning, events by caller type, transactions, views, ids, final states."""

from __future__ import annotations

import re

import pytest
from support import FakeClock, alice, bob, chart, live_state, ops

from actorkit import (
    Actor,
    ActorIdError,
    BoundError,
    Caller,
    ContextError,
    EventRejected,
    HookError,
    NondeterminismError,
    OutputError,
    StepError,
    StepLimitError,
    load_chart,
)


@pytest.fixture(scope="module")
def txn():
    return chart("txn")


@pytest.fixture
def actor(txn, clock):
    return Actor.spawn(txn, "t-1", caller=alice, clock=clock)


def test_spawn_enters_initial_state_and_shows_views(actor):
    assert actor.value == "idle"
    assert actor.seq == 0
    assert actor.view(alice) == {"public": {"count": 0, "log": []},
                                 "private": {"clicks": 0}, "value": "idle"}


def test_events_run_and_count(actor):
    r = actor.send({"type": "INC", "by": 3}, alice)
    assert (r.seq, r.type, r.caller) == (1, "INC", alice)
    actor.send({"type": "INC"}, ops)  # services may send INC too
    assert actor.view(bob)["public"]["count"] == 4
    assert actor.seq == 2


def test_the_input_stays_what_the_actor_was_spawned_with(actor):
    actor.send({"type": "SPOIL"}, alice)  # a hook that writes into ctx.input
    assert actor.input == {} and actor.snapshot()["input"] == {}


def test_a_failed_step_puts_back_what_it_changed_in_place(actor):
    # The committed state is serialised when first asked for, not at each commit: what a
    # later, failing step changed in place (here an internal list) must not reach it.
    # Nothing reads the state between the two steps.
    actor.send({"type": "NOTE"}, alice)
    with pytest.raises(HookError):
        actor.send({"type": "NOTE_BOOM"}, alice)
    assert actor.context["notes"] == ["note 1"]
    snap = actor.snapshot()
    assert snap["seq"] == 1 and snap["context"]["notes"] == ["note 1"]


@pytest.mark.parametrize(("event", "pointer", "words"), [
    ({}, "/type", "no `type`"),
    ({"type": 3}, "/type", "must be a string"),
    ({"type": "NOPE"}, "/type", "unknown event type 'NOPE' for client callers"),
    ({"type": "INC", "by": "two"}, "/by", "is not of type 'integer'"),
    ({"type": "INC", "extra": 1}, "/extra", "Additional properties are not allowed"),
    ({"type": "INC", "caller": {"type": "service", "id": "x"}}, "/caller", "access token"),
    ({"type": "SAY"}, "", "'words' is a required property"),
    ({"type": "CONNECT"}, "/type", "system event"),
])
def test_invalid_events_are_rejected_with_pointer_and_change_nothing(actor, event, pointer, words):
    before = live_state(actor)
    with pytest.raises(EventRejected) as info:
        actor.send(event, alice)
    assert info.value.pointer == pointer
    assert words in str(info.value)
    assert live_state(actor) == before


def test_a_client_cannot_send_a_service_only_event(txn, clock):
    # schemas: client and service both have INC; only client has CLICK.
    a = Actor.spawn(txn, "t-2", caller=alice, clock=clock)
    with pytest.raises(EventRejected, match="client-only event; a service caller cannot"):
        a.send({"type": "CLICK"}, ops)


def test_system_callers_cannot_send_from_outside(actor):
    with pytest.raises(EventRejected, match="only from the actorkit runtime"):
        actor.send({"type": "INC"}, Caller.system("t-1"))


def test_non_json_payload_is_rejected(actor):
    with pytest.raises(EventRejected, match="not plain JSON"):
        actor.send({"type": "INC", "by": {1, 2}}, alice)


@pytest.mark.parametrize(("event", "error", "words"), [
    ("BOOM", HookError, "hook `boom` (action of transition idle on BOOM) raised RuntimeError: "
                        "kaboom at "),
    ("BAD_GUARD", HookError, "hook `bad_guard` (guard of transition idle on BAD_GUARD -> busy) "
                             "raised ZeroDivisionError"),
    ("AMBIG", NondeterminismError, "add guards or priorities"),
    ("BREAK", ContextError, "context.public breaks the `public` schema at /count"),
    ("SETSET", ContextError, "context is not plain JSON at /public/log/0"),
    ("EMIT_BAD", OutputError, "output event SAID breaks its schema at /words"),
    ("EMIT_UNKNOWN", OutputError, "'NOT_DECLARED' is not declared: add it under `output:`"),
    ("SEND_IN_GUARD", HookError, "guards must not have effects"),
    ("BREAK_PRIVATE", ContextError, "private bucket 'alice' breaks the `private` schema at "
                                    "/clicks"),
    ("LOOP", StepLimitError, "macro steps without settling"),
])
def test_a_failing_step_leaves_the_actor_exactly_as_before(actor, event, error, words):
    actor.send({"type": "INC"}, alice)
    actor.send({"type": "CLICK"}, alice)
    before = live_state(actor)
    with pytest.raises(error) as info:
        actor.send({"type": event}, alice)
    assert words in str(info.value)
    assert info.value.event_type == event
    assert live_state(actor) == before
    assert actor.snapshot_json() == before
    assert actor.value == "idle"
    # ...and the actor is not wedged: the next event runs normally.
    actor.send({"type": "INC"}, alice)
    assert actor.view(alice)["public"]["count"] == 2
    assert actor.seq == 3


def test_hook_errors_point_at_the_hooks_file_and_keep_the_cause(actor):
    with pytest.raises(HookError) as info:
        actor.send({"type": "BOOM"}, alice)
    assert "hooks/txn.py:" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert (info.value.hook, info.value.where) == ("boom", "action of transition idle on BOOM")


def test_a_step_past_a_bound_of_the_schema_is_the_senders_bound_error(actor):
    before = live_state(actor)
    with pytest.raises(BoundError) as info:
        actor.send({"type": "INC", "by": 2_000_000}, alice)
    assert str(info.value) == (
        "context.public at /count would be above 1000000 (maximum: 1000000) in the `public` "
        "schema: the event cannot apply to the actor as it is, and changed nothing")
    assert info.value.pointer == "/public/count" and info.value.event_type == "INC"
    assert isinstance(info.value, ContextError)  # still a context that breaks its schema
    assert live_state(actor) == before


def test_a_bound_error_in_another_callers_bucket_names_neither_caller_nor_value(actor):
    for _ in range(10):  # PEEK adds 10 to zoe's clicks, up to the schema's maximum of 100
        actor.send({"type": "PEEK"}, alice)
    with pytest.raises(BoundError) as info:
        actor.send({"type": "PEEK"}, alice)
    assert str(info.value).startswith("a private bucket at /clicks would be above 100")
    assert "zoe" not in str(info.value) and "110" not in str(info.value)


def test_a_wrong_shape_is_the_charts_error_not_a_bound_error(actor):
    with pytest.raises(ContextError) as info:
        actor.send({"type": "BREAK"}, alice)
    assert not isinstance(info.value, BoundError)


def test_context_errors_carry_the_pointer(actor):
    with pytest.raises(ContextError) as info:
        actor.send({"type": "BREAK_PRIVATE"}, alice)
    assert info.value.pointer == "/private/alice/clicks"


def test_all_step_errors_share_one_base(actor):
    with pytest.raises(StepError):
        actor.send({"type": "BOOM"}, alice)


def test_entry_and_exit_hooks_receive_the_event_that_caused_them(actor):
    actor.send({"type": "GO"}, bob)
    assert actor.value == "busy"
    assert actor.view(alice)["public"]["log"] == ["exit idle on GO", "enter busy on GO by bob"]


def test_initial_entry_hooks_get_no_event_and_the_first_caller(clock):
    room = Actor.spawn(chart("lifecycle"), "r", caller=bob, input={"topic": "x"}, clock=clock)
    assert room.view(bob)["public"]["entered_by"] == ["client", "bob", True]


def test_private_buckets_are_per_caller_and_never_leak(actor):
    actor.send({"type": "CLICK"}, alice)
    actor.send({"type": "CLICK"}, alice)
    actor.send({"type": "CLICK"}, bob)
    assert actor.view(alice)["private"] == {"clicks": 2}
    assert actor.view(bob)["private"] == {"clicks": 1}
    carol = Caller.client("carol")
    assert actor.view(carol)["private"] == {"clicks": 0}  # the chart's default bucket
    assert "alice" not in str(actor.view(bob))


def test_a_hook_may_touch_another_callers_bucket_and_it_is_checked(actor):
    actor.send({"type": "PEEK"}, alice)
    assert actor.view(Caller.client("zoe"))["private"] == {"clicks": 10}
    assert actor.view(alice)["private"] == {"clicks": 0}


def test_bucket_is_keyed_by_caller_id_not_type(actor):
    actor.send({"type": "CLICK"}, Caller.client("same"))
    assert actor.view(Caller.service("same"))["private"] == {"clicks": 1}


def test_views_are_copies(actor):
    view = actor.view(alice)
    view["public"]["count"] = 99
    view["private"]["clicks"] = 99
    assert actor.view(alice)["public"]["count"] == 0
    assert actor.view(alice)["private"]["clicks"] == 0


def test_internal_events_run_in_the_same_step(actor):
    r = actor.send({"type": "PING"}, alice)
    assert actor.view(alice)["public"]["count"] == 5
    assert r.seq == actor.seq == 1


def test_outputs_come_back_with_the_step(actor):
    r = actor.send({"type": "SAY", "words": "hello"}, alice)
    assert r.outputs == ({"type": "SAID", "words": "hello"},)


def test_new_ids_are_unique_and_replay_identically(txn, clock):
    a = Actor.spawn(txn, "same-id", caller=alice, clock=clock)
    b = Actor.spawn(txn, "same-id", caller=alice, clock=FakeClock(5.0))
    c = Actor.spawn(txn, "other-id", caller=alice, clock=clock)
    for x in (a, b, c):
        x.send({"type": "ID"}, alice)
        x.send({"type": "ID"}, alice)
    ids = a.view(alice)["public"]["log"]
    assert len(set(ids)) == 4
    assert ids == b.view(alice)["public"]["log"]  # same actor, same events: same ids
    assert not set(ids) & set(c.view(alice)["public"]["log"])


def test_final_state_is_the_value_and_stops_events(actor):
    actor.send({"type": "FINISH"}, alice)
    assert actor.done
    assert actor.value == "done"
    with pytest.raises(EventRejected, match="final state 'done'"):
        actor.send({"type": "INC"}, alice)


def test_spawn_validates_input(clock):
    room = chart("lifecycle")
    with pytest.raises(EventRejected) as info:
        Actor.spawn(room, "r", caller=alice, input={"topic": ""}, clock=clock)
    assert info.value.pointer == "/topic"
    assert "input rejected at /topic" in str(info.value)
    with pytest.raises(EventRejected, match="'topic' is a required property"):
        Actor.spawn(room, "r", caller=alice, clock=clock)
    with pytest.raises(EventRejected, match="Additional properties"):
        Actor.spawn(room, "r", caller=alice, input={"topic": "x", "id": "hack"}, clock=clock)


@pytest.mark.parametrize("actor_id", ["", "a\x00b", "a\r\nb", "a/b", "x" * 257, None])
def test_spawn_refuses_an_id_the_server_would_refuse(txn, clock, actor_id):
    with pytest.raises(ActorIdError, match="an actor id is 1 to 256 bytes of UTF-8"):
        Actor.spawn(txn, actor_id, caller=alice, clock=clock)
    Actor.spawn(txn, "my list é", caller=alice, clock=clock)  # spaces and letters: fine


def test_initialize_runs_at_spawn_with_input_and_first_caller(clock):
    room = Actor.spawn(chart("lifecycle"), "r", caller=bob, input={"topic": "rust"}, clock=clock)
    public = room.view(alice)["public"]
    assert (public["owner"], public["topic"]) == ("bob", "rust")
    assert room.input == {"topic": "rust"}
    assert room.initial_caller == bob


def test_connect_disconnect_and_resume_are_system_events(clock):
    room = Actor.spawn(chart("lifecycle"), "r", caller=bob, input={"topic": "t"}, clock=clock)
    r = room.connect(alice)
    assert r is not None and r.type == "CONNECT" and r.caller == Caller.system("r")
    room.connect(bob)
    room.disconnect(alice)
    assert room.view(bob)["public"]["online"] == ["bob"]
    room.resume()
    assert room.view(bob)["public"]["resumed"] == 1


def test_system_events_a_chart_does_not_handle_are_not_sent(actor):
    assert actor.connect(bob) is None
    assert actor.resume() is None
    assert actor.seq == 0


def test_spawn_failure_raises_and_leaves_no_actor(tmp_path):
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "bad.py").write_text(
        "def explode(ctx, event):\n    raise KeyError('x')\n")
    (tmp_path / "bad.yaml").write_text(
        "actor: bad\nhooks: hooks.bad\nstatechart:\n  name: b\n  root state:\n"
        "    name: r\n    on entry: explode\n")
    from actorkit import load_chart

    with pytest.raises(HookError, match="on entry of state 'r'"):
        Actor.spawn(load_chart(tmp_path / "bad.yaml"), "b", caller=alice)


def test_actors_of_one_chart_share_its_statechart(txn, clock):
    a = Actor.spawn(txn, "a", caller=alice, clock=clock)
    b = Actor.spawn(txn, "b", caller=alice, clock=clock)
    assert a._interp.statechart is b._interp.statechart is txn.statechart
    a.send({"type": "GO"}, alice)
    assert b.value == "idle"  # shared chart, separate state


def test_a_failure_inside_the_interpreter_is_a_step_error_and_rolls_back(actor, monkeypatch):
    from actorkit.engine import ActorInterpreter

    actor.send({"type": "INC"}, alice)
    before = live_state(actor)
    real = ActorInterpreter._apply_step

    def half_then_crash(self, step):
        real(self, step)  # the step is half applied when sismic trips over itself
        raise KeyError("s0")

    monkeypatch.setattr(ActorInterpreter, "_apply_step", half_then_crash)
    with pytest.raises(StepError, match="failed inside the interpreter: KeyError"):
        actor.send({"type": "GO"}, alice)
    assert live_state(actor) == before
    monkeypatch.undo()
    actor.send({"type": "GO"}, alice)
    assert actor.value == "busy"


# -- values JSON cannot carry exactly ------------------------------------------------------------

NUMBERS_CHART = """\
actor: numbers
hooks: hooks.numbers
schemas: schemas/numbers.yaml
context: {public: {value: null}, private: {}, scratch: null}
statechart:
  name: numbers
  root state:
    name: root
    transitions:
      - {event: PUT, action: put}
      - {event: LATER, action: "send('LATER_ON', delay=5, value=float('inf'))"}
      - {event: LATER_ON}
      - {event: TICK}
      - {event: ECHO}
"""
NUMBERS_HOOKS = """\
VALUES = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan"), "big": 2**64,
          "small": -(2**63) - 1}


def put(ctx, event):
    value, where = VALUES[event.data["what"]], event.data["where"]
    if where == "public":
        ctx.public["value"] = [None, {"deep": value}]
    elif where == "private":
        ctx.mine["value"] = value
    elif where == "internal":
        ctx.context["scratch"] = {"value": value}
    elif where == "timer":
        ctx.schedule("TICK", delay=5, value=value)
    elif where == "emit":
        ctx.emit("SAID", value=value)
    else:
        ctx.send("ECHO", value=value)
"""
NUMBERS_SCHEMAS = """\
client:
  PUT: {properties: {what: {type: string}, where: {type: string}}, required: [what, where]}
  LATER: {}
output:
  SAID: {additionalProperties: true}
internal: [TICK, ECHO, LATER_ON]
"""


@pytest.fixture(scope="module")
def numbers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("numbers")
    for name, text in (("numbers.yaml", NUMBERS_CHART), ("hooks/numbers.py", NUMBERS_HOOKS),
                       ("schemas/numbers.yaml", NUMBERS_SCHEMAS)):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(text)
    return load_chart(folder / "numbers.yaml")


@pytest.mark.parametrize("what", ["inf", "-inf", "nan", "big", "small"])
@pytest.mark.parametrize(("where", "error", "words"), [
    ("public", ContextError, "context is not plain JSON at /public/value/1/deep: "),
    ("private", ContextError, "context is not plain JSON at /private/alice/value: "),
    ("internal", ContextError, "context is not plain JSON at /scratch/value: "),
    ("timer", HookError, "data of TICK must be plain JSON: at /value: "),
    ("emit", HookError, "output event SAID must be plain JSON: at /value: "),
    ("send", HookError, "data of ECHO must be plain JSON: at /value: "),
])
def test_a_value_json_cannot_carry_exactly_fails_the_step(numbers, clock, what, where, error,
                                                          words):
    actor = Actor.spawn(numbers, "n-1", caller=alice, clock=clock)
    before = live_state(actor)
    with pytest.raises(error) as info:
        actor.send({"type": "PUT", "what": what, "where": where}, alice)
    assert words in str(info.value)
    if error is ContextError:
        assert info.value.pointer == words.split(" at ")[1].rstrip(": ")
    assert live_state(actor) == before
    assert actor.snapshot_json() == before


def test_a_delayed_sismic_send_of_infinity_fails_the_step(numbers, clock):
    actor = Actor.spawn(numbers, "n-2", caller=alice, clock=clock)
    before = actor.snapshot_json()
    with pytest.raises(ContextError, match=r"at /queue/0/data/value: inf is not a JSON number"):
        actor.send({"type": "LATER"}, alice)
    assert actor.snapshot_json() == before
    assert actor.next_deadline is None


def test_events_json_cannot_carry_exactly_are_rejected(numbers, clock):
    actor = Actor.spawn(numbers, "n-3", caller=alice, clock=clock)
    for value in (float("inf"), float("nan"), 2**64):
        with pytest.raises(EventRejected, match="not plain JSON") as info:
            actor.send({"type": "PUT", "what": value, "where": "public"}, alice)
        assert info.value.pointer == "/what"
    assert actor.seq == 0



# -- the size of the state -----------------------------------------------------------------

def note(text: str) -> dict:
    return {"type": "NOTE", "text": text}


def test_a_step_that_would_grow_the_state_past_max_state_is_a_bound_error():
    memo = chart("memo")  # max_state: 2KiB
    assert memo.max_state == 2048
    actor = Actor.spawn(memo, "m-1", caller=alice, max_state=10**9)  # the chart's own wins
    for _ in range(3):
        actor.send(note("n" * 500), alice)
    before = live_state(actor)
    with pytest.raises(BoundError) as info:
        actor.send(note("n" * 500), alice)
    assert re.fullmatch(
        r"the actor's state would be 2,\d{3} bytes, past its limit of 2,048 \(the chart's "
        r"`max_state:`, else the server's ACTORKIT_MAX_STATE\): the event cannot apply to "
        r"the actor as it is, and changed nothing", str(info.value)), str(info.value)
    assert live_state(actor) == before
    actor.send({"type": "FORGET"}, alice)  # room again
    actor.send(note("n" * 500), alice)


def test_without_its_own_a_chart_takes_the_limit_given_and_a_state_past_it_may_shrink():
    notes = chart("notes")
    actor = Actor.spawn(notes, "n-1", caller=alice, max_state=1500)
    actor.send(note("n" * 500), alice)
    actor.send(note("n" * 500), alice)
    with pytest.raises(BoundError):
        actor.send(note("n" * 500), alice)
    # a lower limit than the state already takes (the server's setting changed)
    lower = Actor.restore(notes, actor.snapshot_json(), max_state=500)
    lower.send({"type": "SHOUT", "text": "x"}, bob)  # no bigger than before
    with pytest.raises(BoundError):
        lower.send(note("n"), alice)
    lower.send({"type": "FORGET"}, alice)  # smaller: always taken
    lower.send(note("n"), alice)  # and now under the limit
    assert Actor.spawn(notes, "n-2", caller=alice).max_state is None  # no limit by default
