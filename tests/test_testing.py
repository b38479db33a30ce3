"""The property-testing kit: it finds the bugs planted in tests/proptest/charts and shrinks each
to its shortest run, prints a test that reproduces it, passes the project's own charts, and
works from pytest and from `actorkit test`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import unittest
from typing import Any

import hypothesis
import pytest
from support import ROOT, run_actorkit

from actorkit.testing import PropertyFailure, Scenario, assert_chart, check_chart, machine_for
from actorkit.testing.report import json_report, pytest_code, text_report

PLANTED = ROOT / "tests" / "proptest" / "charts"
TODO = ROOT / "charts" / "todo.yaml"


def found(chart: str, **options: Any):
    result = check_chart(PLANTED / f"{chart}.yaml", seed=options.pop("seed", 1), **options)
    assert result.failure is not None, f"{chart}: the planted bug was not found"
    return result


def ops(result) -> list[tuple[str, str | None, Any]]:
    return [(s.op, s.caller, s.event if s.op != "wait" else s.seconds) for s in result.trace]


# -- the planted bugs --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bank():
    return found("bank", max_examples=200)


def test_a_contract_broken_only_after_three_events_is_found_and_shrunk(bank):
    assert bank.check == "step-failed"
    assert 'ContractError: invariant `public["balance"] >= 0`' in str(bank.failure)
    steps = ops(bank)
    assert steps[0] == ("spawn", "client:alice", None)
    # the three events it takes, with the smallest amounts, and nothing else
    sent = [event for op, _, event in steps[1:] if op == "send"]
    assert len(steps) == 4 and len(sent) == 3
    assert sorted(e["type"] for e in sent) == ["DEPOSIT", "REQUEST_CARD", "WITHDRAW"]
    assert sent[-1] == {"type": "WITHDRAW", "amount": 1}
    assert {"type": "DEPOSIT", "amount": 1} in sent


def test_a_private_data_leak_is_found_and_shrunk():
    diary = found("diary")
    assert diary.check == "leak"
    assert ops(diary) == [
        ("spawn", "client:alice", None),
        ("send", "client:alice", {"type": "WRITE", "text": "0000"}),
        ("send", "client:alice", {"type": "SHARE"}),
    ]
    assert "'0000', which only client:alice sent and which is in its private bucket, is in " \
           "client:bob's view" in str(diary.failure)


def test_a_hook_that_breaks_the_context_in_a_timer_is_found_and_shrunk():
    alarm = found("alarm")
    assert alarm.check == "timer-failed"
    assert ops(alarm) == [
        ("spawn", "client:alice", None),
        ("send", "client:alice", {"type": "SNOOZE", "minutes": 1}),
        ("wait", None, 60.0),
    ]
    assert "the timer step RING at +60 s failed: ContextError" in str(alarm.failure)
    assert "'1 rings' is not of type 'integer'" in str(alarm.failure)


def test_a_bug_only_a_postcondition_on_old_values_sees_is_found_and_shrunk():
    # The guard swaps row and column, so a second PLAY off the diagonal overwrites a mark: the
    # postcondition comparing the board with __old__ catches it, and only there. With
    # __old__ sharing the board's rows, it broke on the very first PLAY instead.
    overwrite = found("overwrite")
    assert overwrite.check == "step-failed"
    assert "ContractError: postcondition `sum(row.count(None)" in str(overwrite.failure)
    steps = ops(overwrite)
    assert len(steps) == 3 and steps[0] == ("spawn", "client:alice", None)
    first, second = steps[1][2], steps[2][2]
    assert first == second and first["type"] == "PLAY" and first["row"] != first["col"]


# -- the report --------------------------------------------------------------------------------

def run_printed_test(result, **names: Any) -> PropertyFailure:
    """Run the test the report prints (with ``names`` defined, as the user's module would)
    and return the failure it raises."""
    namespace: dict[str, Any] = dict(names)
    exec(compile(pytest_code(result), "<printed test>", "exec"), namespace)
    [test] = [f for name, f in namespace.items() if name.startswith("test_")]
    with pytest.raises(PropertyFailure) as caught:
        test()
    return caught.value


def test_the_printed_test_reproduces_the_failure(bank):
    failure = run_printed_test(bank)
    assert failure.check == "step-failed"
    assert str(failure) == str(bank.failure)


def test_the_text_report_gives_the_property_the_steps_and_the_test(bank):
    text = text_report(bank)
    head = text.splitlines()[0]
    assert head.startswith(f"{bank.source}: FAILED in run {bank.found_in}, shrunk in ")
    assert f"seed {bank.seed})" in head
    assert "  shrunk to 4 steps:" in text
    assert "    1. client:alice spawns the actor" in text
    assert f"# found by: actorkit test {bank.source} --seed {bank.seed}" in text
    assert "s.send('client:alice', {'type': 'WITHDRAW', 'amount': 1})" in text


def test_the_json_report_has_stable_fields(bank):
    data = json_report(bank)
    assert data["ok"] is False and data["check"] == "step-failed"
    assert set(data) == {"chart", "actor", "ok", "runs", "found_in", "max_examples",
                         "seconds", "seed", "steer", "coverage", "check", "message", "steps",
                         "test"}
    assert [s["op"] for s in data["steps"]] == ["spawn", "send", "send", "send"]
    json.dumps(data)


# -- the project's charts and the user's own checks --------------------------------------------

def test_a_users_own_invariant_is_checked_after_every_step():
    def fewer_than_three(actor):
        return len(actor.context["public"]["todos"]) < 3

    result = check_chart(TODO, invariants=[fewer_than_three], seed=1, max_examples=100)
    assert result.check == "invariant:fewer_than_three"
    sends = [s.event for s in result.trace if s.op == "send"]
    # Shrunk to the least it takes: one service SYNC_TODOS of three, or three ADD_TODOs.
    if len(sends) == 1:
        assert sends[0]["type"] == "SYNC_TODOS" and len(sends[0]["todos"]) == 3
    else:
        assert [e["type"] for e in sends] == ["ADD_TODO"] * 3
    # the printed test checks the same invariant, taken from the user's module
    assert "Scenario(" in pytest_code(result) and "invariants=[fewer_than_three]" in \
        pytest_code(result)
    assert run_printed_test(result, fewer_than_three=fewer_than_three).check == \
        "invariant:fewer_than_three"


def test_two_equal_items_in_an_array_come_up_early():
    # the README's example: a service's SYNC_TODOS may hold one todo twice. Random arrays all
    # but never repeat an item (this took 125 to 314 runs); arrays now do one time in four.
    def ids_are_unique(actor):
        ids = [todo["id"] for todo in actor.context["public"]["todos"]]
        return len(ids) == len(set(ids))

    result = check_chart(TODO, invariants=[ids_are_unique], seed=1, max_examples=50)
    assert result.check == "invariant:ids_are_unique"
    [sync] = [s.event for s in result.trace if s.op == "send"]
    assert sync["type"] == "SYNC_TODOS" and len(sync["todos"]) == 2
    assert sync["todos"][0] == sync["todos"][1]


def test_a_users_own_event_strategy_replaces_the_generated_one():
    texts = hypothesis.strategies.sampled_from(["milk", "eggs"]).map(lambda t: {"text": t})

    def only_milk_or_eggs(actor):
        assert all(t["text"] in ("milk", "eggs") for t in actor.context["public"]["todos"])

    nothing = hypothesis.strategies.just({"todos": []})
    result = check_chart(TODO, events={"ADD_TODO": texts, "SYNC_TODOS": nothing},
                         invariants=[only_milk_or_eggs],
                         seed=2, max_examples=20)
    assert result.ok, text_report(result)


def test_assert_chart_raises_with_the_report():
    with pytest.raises(AssertionError) as caught:
        assert_chart(PLANTED / "alarm.yaml", seed=1)
    assert "timer-failed" in str(caught.value) and "s.wait(60.0)" in str(caught.value)
    assert caught.value.__suppress_context__  # the report says it all: no harness traceback


def test_a_scenario_checks_every_step_by_hand():
    s = Scenario(TODO).spawn("client:alice")
    s.send("client:alice", {"type": "ADD_TODO", "text": "milk"}).wait(60).restore()
    s.send_invalid("client:bob", {"type": "ADD_TODO"})
    assert [t["text"] for t in s.actor.view(s.actor.initial_caller)["public"]["todos"]] == [
        "milk"]
    with pytest.raises(PropertyFailure, match="invalid-accepted"):
        s.send_invalid("client:bob", {"type": "ADD_TODO", "text": "fine"})


TodoMachine = machine_for(TODO)
TestTodoMachine = TodoMachine.TestCase
TestTodoMachine.settings = hypothesis.settings(max_examples=10, stateful_step_count=20,
                                               deadline=None)


def test_a_testcase_fails_with_the_run_and_a_test_that_repeats_it():
    TestDiary = machine_for(PLANTED / "diary.yaml").TestCase
    TestDiary.settings = hypothesis.settings(TestDiary.settings, max_examples=100,
                                             database=None, derandomize=True)
    outcome = unittest.TestResult()
    TestDiary("runTest").run(outcome)
    [(_, report)] = outcome.failures
    assert "RunFailure: leak: '0000', which only client:alice sent" in report
    assert "  the run, 3 steps:\n    1. client:alice spawns the actor\n" in report
    assert "s.send('client:alice', {'type': 'SHARE'})" in report
    assert "Explanation:" not in report  # the explain phase is off: it takes minutes


# -- actorkit test -----------------------------------------------------------------------------

def test_cli_passes_the_project_charts():
    # CI property-tests the shipped charts with the command's default of 100 runs each, from a
    # fixed seed (as hypothesis's own CI profile does) so that a landing does not depend on luck
    run = run_actorkit("test", "charts", "--seed", "1", timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if not line.startswith(" ")]
    assert [line.split(":")[0] for line in lines] == [
        "charts/auction.yaml", "charts/checkout.yaml", "charts/lobby.yaml", "charts/room.yaml",
        "charts/todo.yaml"]
    assert all(re.search(r"every property held in 1\d\d runs", line) for line in lines), lines


def test_cli_passes_a_chart_whose_hooks_change_nested_context_under_contracts():
    # Marks go into rows of the board and moves onto a list, in place; the contracts compare
    # them with __old__. It failed on its first PLAY: __old__ shared the lists, so a
    # postcondition compared the new context with itself.
    run = run_actorkit("test", "tests/proptest/charts/board.yaml", "--seed", "1", timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"board.yaml: every property held in 1\d\d runs", run.stdout), run.stdout


def test_cli_passes_the_todo_chart_with_a_contract_that_always_holds(tmp_path):
    # The user's report: `always: 'True'` on a chart whose hooks append to a list, and
    # every run came back restore-differs (the never-restored actor's __old__ grew with the
    # list; the restored one's, read from its snapshot, did not).
    for folder in ("charts", "hooks", "schemas"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    todo = tmp_path / "charts" / "todo.yaml"
    text = todo.read_text()
    assert text.count("    name: root\n") == 1
    todo.write_text(text.replace("    name: root\n",
                                 "    name: root\n    contract:\n      - always: 'True'\n"))
    run = run_actorkit("test", "charts/todo.yaml", "--seed", "1", "--max-examples", "30",
                       cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "todo.yaml: every property held in " in run.stdout


def test_cli_reports_a_planted_bug_with_exit_1():
    run = run_actorkit("test", "tests/proptest/charts/diary.yaml", "--seed", "1",
                       "--format", "json", timeout=300)
    assert run.returncode == 1, run.stderr
    [report] = json.loads(run.stdout)
    assert report["check"] == "leak" and len(report["steps"]) == 3


@pytest.mark.parametrize(("args", "message"), [
    (["nowhere"], "actorkit test: nowhere: no such file or folder"),
    (["--max-examples", "0", "charts"], "--max-examples: at least 1, not 0"),
    (["tests/lint/fixtures/ak203_unknown_target.yaml"], "has errors: fix them first"),
])
def test_cli_that_cannot_run_exits_2(args, message):
    run = run_actorkit("test", *args, timeout=300)
    assert run.returncode == 2
    assert message in run.stderr


def test_cli_shows_progress_on_a_terminal_and_clears_it():
    import os

    main, terminal = os.openpty()
    try:
        run = subprocess.run([sys.executable, "-m", "actorkit", "test", "--seed", "5",
                              "tests/proptest/charts/diary.yaml"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=terminal, text=True, timeout=300, check=False)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    assert run.returncode == 1
    lines = shown.decode().split("\r")
    assert any(re.fullmatch(r"\x1b\[Ktests/proptest/charts/diary.yaml: \d+/100 runs", line)
               for line in lines), lines[:5]
    assert any("shrinking: " in line for line in lines)
    assert lines[-1] == "\x1b[K"  # cleared before the report
    assert run.stdout.startswith("tests/proptest/charts/diary.yaml: FAILED in run ")
