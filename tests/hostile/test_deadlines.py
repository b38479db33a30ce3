"""One actor's hook never stops the others: steps run under a deadline, a server with a hook
stuck in a loop keeps serving and stops when told, and an actor whose timer or lifecycle
steps keep failing is quarantined, visibly, until an operator lifts it. Against a real
`actorkit serve` on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from servers import SECRET, Server, serve, servers
from support import process_alive

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "slow"
FAST = {"ACTORKIT_STEP_DEADLINE": "1"}


def auth(server: Server, actor_type: str, actor_id: str, caller: str = "client:ann") -> dict:
    return {"Authorization": f"Bearer {server.token(actor_type, actor_id, caller)}"}


def post(server: Server, actor_id: str, event: dict, actor_type: str = "slow",
         timeout: float = 30) -> httpx.Response:
    return httpx.post(f"{server.url}/api/{actor_type}/{actor_id}", json=event,
                      headers=auth(server, actor_type, actor_id), timeout=timeout)


def get(server: Server, actor_id: str, actor_type: str = "slow",
        caller: str = "client:ann") -> httpx.Response:
    return httpx.get(f"{server.url}/api/{actor_type}/{actor_id}",
                     headers=auth(server, actor_type, actor_id, caller), timeout=10)


def in_background(run) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def target() -> None:
        started = time.monotonic()
        out["response"] = run()
        out["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(") ", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def test_a_hook_that_never_returns_fails_its_step_while_every_other_actor_is_served():
    with serve(PROJECT, cli=[], extra_env={"ACTORKIT_STEP_DEADLINE": "3"}) as server:
        assert post(server, "other", {"type": "ADD", "text": "x"}).status_code == 200
        assert post(server, "stuck", {"type": "ADD", "text": "kept"}).status_code == 200
        looping, answer = in_background(lambda: post(server, "stuck", {"type": "LOOP"}))
        served = 0
        slowest = 0.0
        while looping.is_alive() and served < 2000:
            started = time.monotonic()
            assert get(server, "other").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            served += 1
        looping.join(30)
        response = answer["response"]
        assert response.status_code == 500
        body = response.json()
        assert body["kind"] == "DeadlineError" and body["type"] == "LOOP"
        assert body["error"].startswith(
            "hook `loop_forever` (action of transition running on LOOP) was still running "
            "when the step's deadline of 3 s passed: the step was rolled back")
        # The other actor answered all along, none of its requests waiting for the hook.
        assert served >= 10 and slowest < 1.5
        assert get(server, "stuck").json()["snapshot"]["public"]["done"] == ["kept"]
        assert post(server, "stuck", {"type": "ADD", "text": "again"}).status_code == 200


def test_sleep_and_a_hook_that_swallows_the_interrupt_fail_their_steps_too():
    with serve(PROJECT, cli=[], extra_env=FAST) as server:
        started = time.monotonic()
        slept = post(server, "s", {"type": "SLEEP", "seconds": 60})
        assert slept.status_code == 500 and slept.json()["kind"] == "DeadlineError"
        swallowed = post(server, "s", {"type": "SWALLOW"})
        assert swallowed.status_code == 500
        assert "the worker process running it was stopped" in swallowed.json()["error"]
        assert time.monotonic() - started < 15
        assert post(server, "s", {"type": "ADD", "text": "fine"}).status_code == 200


def test_sigterm_stops_a_server_whose_hook_is_looping_within_seconds():
    with servers(PROJECT, cli=[], extra_env={"ACTORKIT_STEP_DEADLINE": "300"}) as launcher:
        server = launcher.start()
        looping, answer = in_background(lambda: post(server, "stuck", {"type": "LOOP"}))
        end = time.monotonic() + 15
        while not children(server.process.pid) and time.monotonic() < end:
            time.sleep(0.05)
        workers = children(server.process.pid)
        assert workers  # the step went to a worker process
        time.sleep(0.5)
        started = time.monotonic()
        server.process.terminate()
        server.process.wait(10)
        assert time.monotonic() - started < 3
        looping.join(10)
        assert answer["response"].status_code == 503
        assert "the server stopped before this request was done" in \
            answer["response"].json()["error"]
        assert not [pid for pid in workers if process_alive(pid)]


def test_a_timer_hook_that_loops_cannot_take_the_server_down_even_across_kill_9(tmp_path):
    db = tmp_path / "actors.db"
    with servers(PROJECT, db=db, cli=[], extra_env=FAST) as launcher:
        server = launcher.start()
        assert post(server, "t", {"type": "LOOP_LATER", "delay": 0.2}).status_code == 200
        time.sleep(0.5)  # the timer fires; its hook loops in a worker
        assert get(server, "other").status_code == 200
        server.kill()  # while the timer's step runs
        server = launcher.start()
        # The timer is due again at once: the restarted server answers all the same.
        assert get(server, "other").status_code == 200
        journal = []
        end = time.monotonic() + 20
        while not any(e["kind"] == "timer" for e in journal) and time.monotonic() < end:
            time.sleep(0.2)
            journal = httpx.get(f"{server.url}/api/slow/t/events", timeout=10,
                                headers=auth(server, "slow", "t", "service:ops")).json()["events"]
        timer = next(e for e in journal if e["kind"] == "timer")
        assert timer["type"] == "LOOP_TICK"
        assert "hook `loop_forever`" in timer["error"] and "deadline of 1 s" in timer["error"]
        assert get(server, "t").status_code == 200
        server.stop()
    # The journal replays, without running the step that failed again (it would not end).
    replayed = subprocess.run(
        [sys.executable, "-m", "actorkit", "replay", "slow", "t", "--project", str(PROJECT),
         "--db", str(db)], capture_output=True, text=True, timeout=60, check=False)
    assert replayed.returncode == 0, replayed.stderr
    assert "the same" in replayed.stdout


def test_an_actor_whose_resume_keeps_failing_is_quarantined_until_lifted(tmp_path):
    db = tmp_path / "actors.db"
    broken = {"ACTORKIT_STEP_DEADLINE": "0.5", "FLAKY_BROKEN": "loop",
              "ACTORKIT_IDLE_AFTER": "0.2"}
    with servers(PROJECT, db=db, cli=[], extra_env=broken) as launcher:
        server = launcher.start()
        for actor_id in ("q", "cli"):
            assert post(server, actor_id, {"type": "ADD"}, "flaky").status_code == 200
        time.sleep(0.6)  # both are put away: the next touch brings them back, with RESUME
        for actor_id in ("q", "cli"):
            failures = [post(server, actor_id, {"type": "ADD"}, "flaky") for _ in range(3)]
            assert [r.status_code for r in failures] == [500, 500, 500]
            assert failures[0].json()["kind"] == "DeadlineError"
        refused = get(server, "q", "flaky")
        assert refused.status_code == 503 and refused.json()["kind"] == "Quarantined"
        assert "flaky/q is quarantined since" in refused.json()["error"]
        assert "actorkit quarantine lift flaky q" in refused.json()["error"]
        assert post(server, "q", {"type": "ADD"}, "flaky").status_code == 503
        events = httpx.get(f"{server.url}/api/flaky/q/events", timeout=10,
                           headers=auth(server, "flaky", "q", "service:ops")).json()["events"]
        assert events[-1]["kind"] == "quarantine"
        assert events[-1]["data"]["reason"].startswith("its timer or lifecycle steps failed 3 "
                                                       "times in a row, the last one its RESUME")
        server.stop()
        assert "flaky/q is quarantined" in launcher.logs()

        # The chart is fixed (the server starts without FLAKY_BROKEN): still quarantined,
        # until lifted.
        launcher.extra_env = {"ACTORKIT_STEP_DEADLINE": "0.5"}
        server = launcher.start()
        assert get(server, "q", "flaky").status_code == 503
        lift = f"{server.url}/api/flaky/q/quarantine"
        assert httpx.delete(lift, headers=auth(server, "flaky", "q")).status_code == 403
        shown = httpx.get(lift, headers=auth(server, "flaky", "q", "service:ops")).json()
        assert shown["quarantined"] is True and shown["reason"].startswith("its timer")
        lifted = httpx.delete(lift, headers=auth(server, "flaky", "q", "service:ops"))
        assert lifted.status_code == 200 and lifted.json()["quarantined"] is False
        assert httpx.delete(lift, headers=auth(server, "flaky", "q", "service:ops")) \
            .status_code == 409
        view = get(server, "q", "flaky")
        assert view.status_code == 200
        assert view.json()["snapshot"]["public"] == {"resumed": 1, "ticks": 0, "added": 1}
        server.stop()

        # The other one is lifted with the CLI, the server stopped.
        def quarantine(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "actorkit", "quarantine", *args, "--project",
                 str(PROJECT), "--db", str(db)], capture_output=True, text=True, timeout=60,
                check=False, env={**os.environ, "ACTOR_KIT_SECRET": SECRET})

        shown = quarantine("show", "flaky")
        assert shown.returncode == 0 and "flaky/cli: quarantined since" in shown.stdout
        assert "flaky/q" not in shown.stdout
        assert quarantine("lift", "flaky", "cli").returncode == 0
        assert quarantine("lift", "flaky", "cli").returncode == 1
        server = launcher.start()
        assert get(server, "cli", "flaky").json()["snapshot"]["public"]["resumed"] == 1
