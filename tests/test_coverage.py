"""Coverage in `actorkit test`: what the runs reached, per chart, in the report and in a
--coverage file; runs steered towards what was not reached, which find the bug planted five
moves deep in tests/proptest/charts/duel.yaml where unsteered runs do not; and the user's own
invariants given on the command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from support import ROOT, run_actorkit

from actorkit import load_chart
from actorkit.coverage import Coverage, transition_key, transition_keys
from actorkit.testing import PropertyFailure, Scenario, check_chart

DUEL = "tests/proptest/charts/duel.yaml"
#: a seed whose steered runs find the duel's bug within the default 100 examples (its
#: unsteered runs, as every seed tried, do not)
SEED = "4"


def test_a_transition_is_named_by_source_target_event_and_place_in_its_source():
    chart = load_chart(ROOT / DUEL)
    keys = [key for _, key in transition_keys(chart.statechart)]
    assert keys == [
        "Judging -> Over on #0", "Judging -> XToMove on #1", "Judging -> OToMove on #2",
        "Lobby -> Lobby on JOIN#0", "Lobby -> Lobby on LEAVE#1", "Lobby -> Playing on #2",
        "OToMove -> Judging on MOVE#0", "OToMove -> Lobby on #1",
        "Over -> Playing on REMATCH#0", "Over -> Lobby on LEAVE#1",
        "Playing -> Lobby on LEAVE#0",
        "XToMove -> Judging on MOVE#0", "XToMove -> Lobby on #1",
    ]
    # an internal transition (no target) names its source as target
    [join] = [t for t in chart.statechart.transitions_from("Lobby") if t.event == "JOIN"]
    assert join.target is None and transition_key(join, 0) == "Lobby -> Lobby on JOIN#0"


def test_coverage_counts_the_states_entered_and_transitions_taken_by_committed_steps():
    chart = load_chart(ROOT / DUEL)
    reached = Coverage.of("duel", chart.statechart)
    s = Scenario(chart)
    s.harness.coverage = reached
    s.spawn("client:alice")
    s.send("client:alice", {"type": "JOIN"})
    s.send("client:alice", {"type": "JOIN"})  # a second seat for alice: not handled
    s.send("client:bob", {"type": "JOIN"})
    s.send("client:alice", {"type": "MOVE", "cell": 4})
    s.wait(31)  # bob's time to move runs out
    assert reached.states == {"root": 1, "Lobby": 2, "Playing": 1, "XToMove": 1,
                              "Judging": 1, "OToMove": 1, "Over": 0}
    assert {k: v for k, v in reached.transitions.items() if v} == {
        "Lobby -> Lobby on JOIN#0": 2, "Lobby -> Playing on #2": 1,
        "XToMove -> Judging on MOVE#0": 1, "Judging -> OToMove on #2": 1,
        "OToMove -> Lobby on #1": 1}
    assert reached.summary() == "states 6/7, transitions 5/13"


def test_steered_runs_find_the_bug_five_moves_deep_and_unsteered_ones_do_not(tmp_path):
    found = run_actorkit("test", DUEL, "--seed", SEED, "--format", "json", timeout=600)
    assert found.returncode == 1, found.stderr
    [report] = json.loads(found.stdout)
    assert report["check"] == "step-failed" and report["steer"] is True
    assert report["found_in"] <= report["max_examples"] == 100
    assert "IndexError" in report["message"]
    moves = [s["event"] for s in report["steps"] if s["op"] == "send"
             and s["event"]["type"] == "MOVE"]
    assert len(moves) >= 5  # the fifth legal move is the one that fails
    # some steered games were won on a line before the broken one: they got to the end
    assert report["coverage"]["states"]["Over"] > 0

    missed = run_actorkit("test", DUEL, "--seed", SEED, "--no-steer", timeout=600)
    assert missed.returncode == 0, missed.stdout + missed.stderr
    assert missed.stdout.startswith(f"{DUEL}: every property held in ")
    assert "    never entered: Over\n" in missed.stdout


def test_coverage_is_reported_and_written_for_every_chart(tmp_path):
    out = tmp_path / "coverage.json"
    run = run_actorkit("test", DUEL, "charts/todo.yaml", "--seed", "1", "--no-steer",
                       "--max-examples", "20", "--coverage", out, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    written = json.loads(out.read_text())
    assert set(written) == {"charts"} and set(written["charts"]) == {"duel", "todo"}
    for actor_type, path in (("duel", DUEL), ("todo", "charts/todo.yaml")):
        chart = load_chart(ROOT / path)
        counts = written["charts"][actor_type]
        assert set(counts) == {"states", "transitions"}
        # every state and every transition, by the keys actorkit.coverage makes
        assert set(counts["states"]) == set(chart.statechart.states)
        assert list(counts["transitions"]) == [k for _, k in transition_keys(chart.statechart)]
        assert all(type(n) is int and n >= 0 for part in counts.values() for n in part.values())
        # the report says as much
        states, transitions = counts["states"], counts["transitions"]
        line = (f"  coverage: states {sum(1 for n in states.values() if n)}/{len(states)}, "
                f"transitions {sum(1 for n in transitions.values() if n)}/"
                f"{len(transitions)}\n")
        assert line in run.stdout
    duel = written["charts"]["duel"]
    assert duel["states"]["Over"] == 0 and duel["states"]["Lobby"] > 0
    never = [k for k, n in duel["transitions"].items() if not n]
    assert f"    never taken: {', '.join(never)}\n" in run.stdout


INVARIANTS = '''
def few_moves(actor):
    assert actor.context["public"]["moves"] < 2, "two moves were made"


def two_arguments(actor, other):
    return True
'''


def test_an_invariant_from_the_command_line_breaks_with_a_shrunk_run_and_a_test(tmp_path):
    (tmp_path / "rules.py").write_text(INVARIANTS)
    run = run_actorkit("test", ROOT / DUEL, "--seed", "1", "--invariant", "rules:few_moves",
                       cwd=tmp_path, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "\n  invariant:few_moves: two moves were made\n" in run.stdout
    steps = re.findall(r"^ +\d+\. (.*)$", run.stdout, re.M)
    assert steps[0] == "client:alice spawns the actor" and len(steps) == 5  # 2 joins, 2 moves
    code = "\n".join(line[4:] for line in run.stdout.split("to reproduce it in a test:", 1)[1]
                     .splitlines())
    assert "from rules import few_moves" in code
    assert "--invariant rules:few_moves --seed 1" in code
    # the printed test breaks the same invariant
    sys.path.insert(0, str(tmp_path))
    try:
        scope: dict = {}
        exec(compile(code, "report", "exec"), scope)
        [test] = [f for name, f in scope.items() if name.startswith("test_")]
        with pytest.raises(PropertyFailure) as caught:
            test()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("rules", None)
    assert caught.value.check == "invariant:few_moves"


@pytest.mark.parametrize(("spec", "message"), [
    ("few_moves", "give it as module:function"),
    ("nowhere:few_moves", "importing nowhere failed (ModuleNotFoundError"),
    ("rules:missing", "rules has no function missing"),
    ("rules:two_arguments", "two_arguments must take one argument, the actor"),
])
def test_an_invariant_that_cannot_be_used_exits_2_before_any_run(tmp_path, spec, message):
    (tmp_path / "rules.py").write_text(INVARIANTS)
    run = run_actorkit("test", ROOT / DUEL, "--invariant", spec, cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert message in run.stderr


def test_a_coverage_file_in_a_missing_folder_exits_2_before_any_run(tmp_path):
    run = run_actorkit("test", DUEL, "--coverage", tmp_path / "no" / "cov.json")
    assert run.returncode == 2 and run.stdout == ""
    assert "does not exist; create it or write the file elsewhere" in run.stderr


def test_check_chart_gives_the_coverage_and_steers_unless_told_not_to():
    steered = check_chart(ROOT / DUEL, seed=2, max_examples=20)
    plain = check_chart(ROOT / DUEL, seed=2, max_examples=20, steer=False)
    assert steered.steer and not plain.steer
    for result in (steered, plain):
        assert result.ok and result.coverage is not None
        assert result.coverage.states["Lobby"] > 0


def test_the_default_run_of_the_project_charts_still_passes_quietly():
    run = subprocess.run([sys.executable, "-m", "actorkit", "test", "--seed", "1",
                          "--max-examples", "10"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("  coverage: states ") == 5  # auction, checkout, lobby, room, todo
