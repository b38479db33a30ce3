"""Time: ctx.schedule/cancel, after() and idle() guards, sismic's delayed send(), deadlines."""

from __future__ import annotations

import math

import pytest
from sismic.clock import SimulatedClock
from sismic.code import PythonEvaluator
from sismic.interpreter import Interpreter
from support import FakeClock, alice, chart

from actorkit import Actor


@pytest.fixture(scope="module")
def timers():
    return chart("timers")


@pytest.fixture
def actor(timers, clock):
    return Actor.spawn(timers, "t", caller=alice, clock=clock)


class DummyGuards(PythonEvaluator):
    """sismic's own evaluator, with the chart's hook actions left out (``note`` writes what
    fired where sismic cannot see it)."""

    def execute_action(self, transition, event=None):
        return []


def fired(actor):
    return actor.view(alice)["public"]["fired"]


def test_no_deadline_when_nothing_waits(actor):
    assert actor.next_deadline is None
    assert actor.advance() == []


def test_after_guard_fires_at_entry_plus_delay(actor, clock):
    t0 = clock.t
    actor.send({"type": "OPEN"}, alice)
    assert actor.next_deadline == t0 + 10
    clock.t = t0 + 9.5
    assert actor.advance() == []
    assert actor.value["door"] == "open"
    clock.t = t0 + 60
    results = actor.advance()
    assert [r.time for r in results] == [t0 + 10]  # at its due time, not when noticed
    assert actor.value["door"] == "closed"
    assert fired(actor) == [[None, "open", t0 + 10]]
    assert actor.next_deadline is None


def test_after_and_idle_decide_as_sismic_does_to_the_last_float(timers):
    # 13.2 - 10 < 3.2 in floats: sismic's after(10) of a state entered at 3.2 does not hold at
    # 13.2 yet, only one float later. The actor must wake, and fire, exactly when sismic does.
    clock = FakeClock(3.2)
    actor = Actor.spawn(timers, "t", caller=alice, clock=clock)
    actor.send({"type": "OPEN"}, alice)
    actor.send({"type": "TOUCH"}, alice)
    reference = Interpreter(timers.statechart, evaluator_klass=DummyGuards, clock=SimulatedClock())
    reference.clock.time = 3.2
    reference.queue("OPEN", "TOUCH").execute()
    assert 13.2 - 10 < 3.2 and 8.2 - 5 < 3.2
    due = math.nextafter(8.2, math.inf)  # idle(5) of the lamp, touched at 3.2
    assert actor.next_deadline == due
    for t in (8.2, due, 13.2, math.nextafter(13.2, math.inf)):
        clock.t = reference.clock.time = t
        actor.advance()
        reference.execute()
        assert actor.configuration == reference.configuration, t
    assert [(f[1], f[2]) for f in fired(actor)] == [("on", due),
                                                    ("open", math.nextafter(13.2, math.inf))]


def test_leaving_the_state_cancels_the_after_guard(actor, clock):
    actor.send({"type": "OPEN"}, alice)
    clock.t += 3
    actor.send({"type": "CLOSE"}, alice)
    assert actor.next_deadline is None


def test_idle_restarts_with_each_transition(actor, clock):
    t0 = clock.t
    actor.send({"type": "TOUCH"}, alice)
    assert actor.next_deadline == t0 + 5
    clock.t = t0 + 4
    actor.send({"type": "TOUCH"}, alice)  # a self-transition: idle again from t0+4
    assert actor.next_deadline == t0 + 9
    clock.t = t0 + 100
    actor.advance()
    assert actor.value["lamp"] == "off"
    assert fired(actor) == [[None, "on", t0 + 9]]


def test_schedule_fires_as_a_system_event_at_its_due_time(actor, clock):
    t0 = clock.t
    actor.send({"type": "REMIND", "in": 30}, alice)
    timer = actor.timers[0]
    assert (timer["type"], timer["due"], timer["data"]) == ("REMINDER", t0 + 30, {"text": "hi"})
    assert actor.next_deadline == t0 + 30
    clock.t = t0 + 45
    [r] = actor.advance()
    assert (r.type, r.caller.type, r.time) == ("REMINDER", "system", t0 + 30)
    assert fired(actor) == [["REMINDER", "reminders", t0 + 30]]
    assert actor.timers == []


def test_cancel_removes_the_timer(actor, clock):
    actor.send({"type": "REMIND", "in": 30}, alice)
    actor.send({"type": "FORGET"}, alice)
    assert actor.timers == []
    clock.t += 100
    assert actor.advance() == []


def test_sismic_delayed_send_is_a_deadline_too(actor, clock):
    t0 = clock.t
    actor.send({"type": "BEEP_LATER"}, alice)
    assert actor.next_deadline == t0 + 3
    clock.t += 10
    actor.advance()
    assert fired(actor) == [["BEEP", "reminders", t0 + 3]]


def test_due_timers_run_before_the_next_event_in_order(actor, clock):
    t0 = clock.t
    actor.send({"type": "REMIND", "in": 7}, alice)
    actor.send({"type": "OPEN"}, alice)  # after(10) from t0
    actor.send({"type": "BEEP_LATER"}, alice)  # at t0+3
    clock.t = t0 + 20
    r = actor.send({"type": "TOUCH"}, alice)
    assert [(t.type, t.time) for t in r.timers] == [
        (None, t0 + 3), ("REMINDER", t0 + 7), (None, t0 + 10)]
    assert [f[0] for f in fired(actor)] == ["BEEP", "REMINDER", None]
    assert r.time == t0 + 20


def test_timers_and_guards_survive_a_restore_with_absolute_times(timers, clock):
    t0 = clock.t
    a = Actor.spawn(timers, "t", caller=alice, clock=clock)
    a.send({"type": "REMIND", "in": 30}, alice)
    a.send({"type": "OPEN"}, alice)
    a.send({"type": "TOUCH"}, alice)
    a.send({"type": "BEEP_LATER"}, alice)
    later = FakeClock(t0 + 1000)
    b = Actor.restore(chart("timers"), a.snapshot(), clock=later)
    assert b.next_deadline == a.next_deadline == t0 + 3
    b.advance()
    clock.t = t0 + 1000
    a.advance()
    assert fired(b) == fired(a)
    assert [f[2] for f in fired(b)] == [t0 + 3, t0 + 5, t0 + 10, t0 + 30]
    assert b.snapshot() == a.snapshot()


def test_time_never_runs_backwards(actor, clock):
    actor.send({"type": "TOUCH"}, alice)
    t = actor.time
    clock.t -= 500  # the system clock jumped back
    actor.send({"type": "TOUCH"}, alice)
    assert actor.time == t


def test_a_failing_timer_is_dropped_not_retried_forever(tmp_path, clock):
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "flaky.py").write_text(
        "def arm(ctx, event):\n    ctx.schedule('TICK', delay=1)\n\n"
        "def tick(ctx, event):\n    raise ValueError('no')\n")
    (tmp_path / "flaky.yaml").write_text(
        "actor: flaky\nhooks: hooks.flaky\nstatechart:\n  name: f\n  root state:\n"
        "    name: r\n    on entry: arm\n    transitions:\n      - {event: TICK, action: tick}\n")
    from actorkit import load_chart

    a = Actor.spawn(load_chart(tmp_path / "flaky.yaml"), "f", caller=alice, clock=clock)
    clock.t += 5
    [r] = a.advance()
    assert r.type == "TICK" and "raised ValueError: no" in str(r.error)
    assert a.timers == [] and a.next_deadline is None
    assert a.advance() == []
    assert a.snapshot()["timers"] == []


def test_a_done_actor_has_no_deadline(tmp_path, clock):
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "ends.py").write_text(
        "def arm(ctx, event):\n    ctx.schedule('LATER', delay=5)\n")
    (tmp_path / "ends.yaml").write_text(
        "actor: ends\nhooks: hooks.ends\nstatechart:\n  name: e\n  root state:\n"
        "    name: root\n    initial: a\n    states:\n"
        "      - {name: a, on entry: arm, transitions: [{event: LATER, target: b},"
        " {event: INITIALIZE, target: done}]}\n"
        "      - {name: b}\n      - {name: done, type: final}\n")
    from actorkit import load_chart

    a = Actor.spawn(load_chart(tmp_path / "ends.yaml"), "e", caller=alice, clock=clock)
    assert a.done and a.value == "done"
    assert a.next_deadline is None
    clock.t += 10
    assert a.advance() == []


def bound(actor):
    return {t["type"]: t["within"] for t in actor.timers}


def test_a_scheduled_timer_belongs_to_the_state_whose_hook_armed_it(clock):
    lamp = chart("lamp")
    a = Actor.spawn(lamp, "l", caller=alice, clock=clock)
    a.send({"type": "SWITCH"}, alice)
    a.send({"type": "SNOOZE"}, alice)
    assert bound(a) == {"REPORT": "root", "DIM": "lit", "SNOOZED": "lit"}
    a.send({"type": "SWITCH"}, alice)
    # Leaving `lit` dropped its two, from memory and from the snapshot; REPORT stays.
    assert bound(a) == {"REPORT": "root"}
    assert [t["type"] for t in a.snapshot()["timers"]] == ["REPORT"]
    clock.t += 10
    assert [r.type for r in a.advance()] == ["REPORT"]
    assert a.view(alice)["public"] == {"dimmed": False, "reports": 1, "snoozed": 0}

    # Staying in the state, they fire, and the binding survives a restore.
    b = Actor.spawn(lamp, "m", caller=alice, clock=clock)
    b.send({"type": "SWITCH"}, alice)
    b.send({"type": "SNOOZE"}, alice)
    b = Actor.restore(lamp, b.snapshot(), clock=clock)
    assert bound(b) == {"REPORT": "root", "DIM": "lit", "SNOOZED": "lit"}
    clock.t += 10
    assert sorted(r.type for r in b.advance()) == ["DIM", "REPORT", "SNOOZED"]
    assert b.view(alice)["public"] == {"dimmed": True, "reports": 1, "snoozed": 1}


def test_within_must_name_a_state(clock):
    from actorkit import HookError

    a = Actor.spawn(chart("lamp"), "b", caller=alice, clock=clock)
    with pytest.raises(HookError, match="within='nowhere' is not a state of this chart"):
        a.send({"type": "ARM_NOWHERE"}, alice)
    assert a.timers == [] and a.seq == 0
