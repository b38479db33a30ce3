"""Step deadlines inside one process: the chart's code is interrupted when its step's time is
up, the step is rolled back, and actorkit's own code is never interrupted."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from support import alice

from actorkit import Actor, DeadlineError, deadline, load_chart
from actorkit.deadline import Interrupted
from actorkit.migrate import migrate_snapshot

HERE = Path(__file__).resolve().parent
SLOW = HERE / "hostile" / "slow" / "charts" / "slow.yaml"


@pytest.fixture(scope="module")
def slow():
    return load_chart(SLOW)


@pytest.fixture(autouse=True)
def disarmed():
    yield
    deadline.disarm()


def with_deadline(seconds, run, *, per_step=True):
    deadline.arm(seconds, per_step=per_step)
    try:
        return run()
    finally:
        deadline.disarm()


@pytest.mark.parametrize(("event", "what"), [
    ({"type": "LOOP"}, "hook `loop_forever` (action of transition running on LOOP)"),
    ({"type": "SLEEP", "seconds": 30}, "hook `sleep` (action of transition running on SLEEP)"),
    ({"type": "LOOP_INLINE"},
     "inline code `while True: pass` (action of transition running on LOOP_INLINE)"),
])
def test_code_still_running_at_the_deadline_fails_its_step_and_is_rolled_back(
        slow, event, what):
    actor = Actor.spawn(slow, "a", caller=alice)
    actor.send({"type": "ADD", "text": "before"}, alice)
    before = actor.snapshot_json()
    started = time.monotonic()
    with pytest.raises(DeadlineError) as failed:
        with_deadline(0.2, lambda: actor.send(event, alice))
    assert time.monotonic() - started < 2  # a 30 s sleep too: the interrupt cuts it short
    assert str(failed.value).startswith(
        f"{what} was still running when the step's deadline of 0.2 s passed: the step was "
        f"rolled back")
    assert failed.value.deadline == 0.2 and failed.value.event_type == event["type"]
    assert actor.snapshot_json() == before
    actor.send({"type": "ADD", "text": "after"}, alice)
    assert actor.view(alice)["public"]["done"] == ["before", "after"]


def test_each_step_has_the_whole_deadline(slow):
    # Three steps of 0.15 s each under a 0.25 s deadline per step: none fails.
    actor = Actor.spawn(slow, "a", caller=alice)

    def three() -> None:
        for _ in range(3):
            actor.send({"type": "WORK", "seconds": 0.15}, alice)

    with_deadline(0.25, three)
    assert actor.view(alice)["public"]["done"] == ["worked"] * 3


def test_a_budget_of_the_runner_raises_out_of_the_step_for_it_to_decide(slow):
    actor = Actor.spawn(slow, "a", caller=alice)
    before = actor.snapshot_json()
    with pytest.raises(Interrupted) as interrupted:
        with_deadline(0.05, lambda: actor.send({"type": "LOOP"}, alice), per_step=False)
    assert interrupted.value.hook == "loop_forever"
    assert actor.snapshot_json() == before
    assert not actor.take_steps()


def test_the_preamble_runs_under_the_deadline():
    spin = load_chart(HERE / "deadline" / "spin.yaml")
    with pytest.raises(DeadlineError, match=r"^the statechart preamble was still running"):
        with_deadline(0.2, lambda: Actor.spawn(spin, "s", caller=alice))


def test_the_migrate_hook_runs_under_the_deadline(tmp_path):
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "m.py").write_text("def migrate(snapshot, old, new):\n"
                                             "    while True:\n        pass\n")
    text = "actor: m\nversion: {}\nhooks: hooks.m\nstatechart:\n  name: m\n" \
           "  root state: {{name: root}}\n"
    (tmp_path / "m.yaml").write_text(text.format(1))
    old = Actor.spawn(load_chart(tmp_path / "m.yaml"), "x", caller=alice).snapshot()
    (tmp_path / "m.yaml").write_text(text.format(2))
    new = load_chart(tmp_path / "m.yaml")
    with pytest.raises(DeadlineError, match=r"^the migrate hook was still running"):
        with_deadline(0.2, lambda: migrate_snapshot(new, old))


def test_a_step_on_another_thread_is_interrupted_too(slow):
    actor = Actor.spawn(slow, "a", caller=alice)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with_deadline(0.2, lambda: actor.send({"type": "LOOP"}, alice))
        except BaseException as e:
            failures.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert len(failures) == 1 and isinstance(failures[0], DeadlineError)
    assert failures[0].hook == "loop_forever"


def test_a_budget_that_runs_out_outside_the_charts_code_interrupts_nothing(slow):
    # The budget runs out while no step runs, and again while actorkit's own code does:
    # nothing is raised there; the next step's code is interrupted at once instead.
    actor = Actor.spawn(slow, "a", caller=alice)
    deadline.arm(0.001)
    try:
        time.sleep(0.05)  # ticks fire here: not the chart's code
        assert deadline.expired()
        actor.snapshot()  # actorkit's own work goes on
        with pytest.raises(Interrupted):
            actor.send({"type": "ADD", "text": "x"}, alice)
    finally:
        deadline.disarm()
    actor.send({"type": "ADD", "text": "y"}, alice)
    assert actor.view(alice)["public"]["done"] == ["y"]
