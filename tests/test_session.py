"""`actorkit run`: a scripted session with one actor, from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from support import ROOT


def run(*args: str, stdin: str = "", cwd=ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "actorkit", "run", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd)


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_the_readme_session_runs():
    session = (ROOT / "examples" / "todo-session.jsonl").read_text()
    done = run("charts/todo.yaml", "--caller", "client:alice", stdin=session)
    assert done.returncode == 0, done.stderr
    results = lines(done.stdout)
    assert [r.get("type") or r.get("error") for r in results[:7]] == [
        "ADD_TODO", "ADD_TODO", "TOGGLE_TODO", "SET_FILTER", "EventRejected", "EventRejected",
        "REMOVE_TODO"]
    # the ids the session file spells out are the ones the actor makes, every time
    assert results[0]["outputs"][0]["todo"]["id"] == "43d95075-94a9-5f7e-a40c-155b9f60c7ed"
    bob = results[-1]
    assert bob["caller"] == "client:bob"
    assert bob["view"]["private"] == {"filter": "completed"}
    assert [t["text"] for t in bob["view"]["public"]["todos"]] == ["Buy milk"]
    assert run("charts/todo.yaml", "--caller", "client:alice", "--check",
               stdin=session).returncode == 1


def test_wait_runs_timers_and_snapshots_carry_over(tmp_path):
    auction = json.dumps({"title": "Lamp", "startingPrice": 100, "increment": 10,
                          "reservePrice": 0, "durationSeconds": 60, "sellerId": "seller",
                          "goingSeconds": 5})
    snap = tmp_path / "snap.json"
    first = run("charts/auction.yaml", "--id", "lot-1", "--caller", "client:ann", "--input",
                auction, "--save", str(snap),
                stdin='service:house {"type": "OPEN"}\n{"type": "PLACE_BID", "amount": 100}\n')
    assert first.returncode == 0, first.stderr
    assert lines(first.stdout)[-1]["view"]["public"]["leaderId"] == "ann"
    second = run("charts/auction.yaml", "--restore", str(snap), "--caller", "client:ann",
                 stdin="wait 61\nwait 5\nwait 5\n")
    assert second.returncode == 0, second.stderr
    waits = lines(second.stdout)
    assert [t["type"] for t in waits[0]["timers"]] == ["BIDDING_ENDS"]
    assert waits[-1]["view"]["value"] == "Sold"


def test_a_broken_line_stops_the_session_with_exit_2():
    done = run("charts/todo.yaml", stdin='{"type": "ADD_TODO", "text": "a"}\nnot json\n')
    assert done.returncode == 2
    assert "line 2: not a command" in done.stderr
    assert len(lines(done.stdout)) == 1


def test_a_bad_event_after_a_caller_is_named():
    done = run("charts/todo.yaml", stdin="client:bob {oops\n")
    assert done.returncode == 2
    assert "line 1: not a JSON event" in done.stderr


def test_a_broken_chart_is_reported_with_exit_2(tmp_path):
    (tmp_path / "bad.yaml").write_text("actor: bad\nstatechart: {name: x}\n")
    done = run(str(tmp_path / "bad.yaml"), stdin="")
    assert done.returncode == 2
    assert "AK101" in done.stderr
