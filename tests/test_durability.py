"""Durability, run for real: uvicorn processes on one SQLite store, stopped (SIGTERM) or
killed (SIGKILL) and started again. What a client was told is committed must be there after
any restart, in the journal and in the state, and timers must keep their wall-clock times."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from servers import CLEAN_EXIT, Server, servers
from support import ROOT, alice, chart

from actorkit import Actor
from actorkit.sync import apply_patch

TESTS = ROOT / "tests"
PAGE = 40  # journal page size: small, so that reading a journal takes several pages


# -- helpers ---------------------------------------------------------------------------------

def auth(server: Server, actor: str, caller: str) -> dict[str, str]:
    kind, actor_id = actor.split("/")
    return {"Authorization": f"Bearer {server.token(kind, actor_id, caller)}"}


def get(server: Server, actor: str, caller: str = "client:alice", **params: Any) -> dict:
    r = httpx.get(f"{server.url}/api/{actor}", params=params,
                  headers=auth(server, actor, caller), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def post(server: Server, actor: str, event: dict, caller: str = "client:alice") -> dict:
    r = httpx.post(f"{server.url}/api/{actor}", json=event,
                   headers=auth(server, actor, caller), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def journal(server: Server, actor: str, *, after: int = -1) -> list[dict]:
    """The actor's journal after step ``after``, read as a service, page by page."""
    headers = auth(server, actor, "service:audit")
    found: list[dict] = []
    for _ in range(1000):
        r = httpx.get(f"{server.url}/api/{actor}/events", headers=headers, timeout=10,
                      params={"after": found[-1]["seq"] if found else after, "limit": PAGE})
        assert r.status_code == 200, r.text
        page = r.json()
        found.extend(page["events"])
        if page["next"] is None or len(page["events"]) < PAGE:
            return found
    raise AssertionError("the journal never ended")


def start_replays(project: Path, db: Path, *actors: str) -> list[tuple[str, Any]]:
    """``actorkit replay`` of each actor, started side by side (see :func:`check_replays`)."""
    runs = []
    for actor in actors:
        kind, actor_id = actor.split("/")
        runs.append((actor, subprocess.Popen(
            [sys.executable, "-m", "actorkit", "replay", kind, actor_id, "--project",
             str(project), "--db", str(db)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    return runs


def check_replays(runs: list[tuple[str, Any]]) -> None:
    """Each replay rebuilt its actor from the journal to the state the store has."""
    try:
        for actor, run in runs:
            try:
                out, _ = run.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()
                out, _ = run.communicate()
            assert run.returncode == 0, f"{actor}: {out}"
            assert "the same" in out, f"{actor}: {out}"
    finally:
        for _, run in runs:
            if run.poll() is None:
                run.kill()
                run.communicate()


def assert_replays(project: Path, db: Path, *actors: str) -> None:
    check_replays(start_replays(project, db, *actors))


def poll(what: str, check: Any, *, until: float, every: float = 0.05) -> Any:
    """Call ``check()`` until it returns something truthy, up to the wall-clock time
    ``until`` (bounded in count too)."""
    for _ in range(100_000):
        found = check()
        if found:
            return found
        if time.time() > until:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")


def timer_entries(server: Server, actor: str, after: int) -> list[dict]:
    return [e for e in journal(server, actor, after=after) if e["kind"] == "timer"]


# -- 1. a clean restart ----------------------------------------------------------------------

def test_restart_keeps_history_views_and_timers_and_resumes():
    with servers(TESTS) as launcher:
        first = launcher.start()

        # Untouched after the restart: its REMIND timer and its after(10) guard must fire on
        # their own, at their original times. OPEN goes first, so its guard is due soonest.
        post(first, "timers/alarm", {"type": "OPEN"})

        # Deep and shallow history: remembered configurations are part of the snapshot.
        oracle = Actor.spawn(chart("history"), "h1", caller=alice, clock=time.time)
        for kind in ("SKIP", "SKIP", "MODE", "AD", "PAUSE"):
            post(first, "player/h1", {"type": kind})
            oracle.send({"type": kind}, alice)
        assert get(first, "player/h1")["snapshot"]["value"] == {"on": "paused"}

        # Timers pending a long way off: the view must come back the same.
        post(first, "timers/view", {"type": "OPEN"})
        post(first, "timers/view", {"type": "REMIND", "in": 600})

        topic = json.dumps({"topic": "durability"})
        room = get(first, "room/r1", input=topic)["snapshot"]["public"]
        assert (room["topic"], room["resumed"]) == ("durability", 0)

        post(first, "timers/alarm", {"type": "REMIND", "in": 6})  # a restart takes ~2 s
        alarm = journal(first, "timers/alarm")
        assert [(e["seq"], e["kind"], e["type"]) for e in alarm] == [
            (0, "spawn", None), (1, "event", "OPEN"), (2, "event", "REMIND")]
        reminder_due = alarm[2]["time"] + 6
        close_due = alarm[1]["time"] + 10
        # Untouched too: an idle(5) guard, counted from the last transition.
        post(first, "timers/lamp", {"type": "TOUCH"})
        lamp_due = journal(first, "timers/lamp")[1]["time"] + 5

        before = {a: get(first, a) for a in ("player/h1", "timers/view")}

        assert first.stop() in CLEAN_EXIT
        second = launcher.start()
        restarted = time.time()
        assert restarted < reminder_due - 0.3, "the restart took too long for this test"

        # The other actors come back as they were (the room is told it RESUMEd).
        for actor, view in before.items():
            assert get(second, actor) == view, actor
        room = get(second, "room/r1", input=topic)["snapshot"]["public"]
        assert (room["topic"], room["resumed"]) == ("durability", 1)

        # Nobody touches timers/alarm: the journal endpoint reads the store, it does not
        # bring the actor into memory. Its reminder must fire at its due time, by itself.
        fired = poll("the reminder", lambda: timer_entries(second, "timers/alarm", 2),
                     until=reminder_due + 5)
        seen = time.time()
        assert fired[0]["type"] == "REMINDER"
        assert fired[0]["time"] == pytest.approx(reminder_due, abs=1e-6)
        assert seen - reminder_due < 3, f"fired {seen - reminder_due:.2f}s late"
        off = poll("the lamp to go off", lambda: timer_entries(second, "timers/lamp", 1),
                   until=lamp_due + 5)
        assert time.time() - max(lamp_due, restarted) < 3  # due before the restart: at once
        assert [(e["seq"], e["type"]) for e in off] == [(2, None)]
        assert off[0]["time"] == pytest.approx(lamp_due, abs=1e-6)

        # History survives: PLAY goes back through main.H* (deep), AD_DONE through track.H.
        for kind in ("PLAY", "AD_DONE"):
            post(second, "player/h1", {"type": kind})
            oracle.send({"type": kind}, alice)
        view = get(second, "player/h1")["snapshot"]
        assert view["value"] == {"on": {"main": {"playing": {"audio": "mono",
                                                             "deck": {"track": "chorus"}}}}}
        assert view == oracle.view(alice)

        # Replays read the store while the server runs; these actors are at rest now.
        lamp = get(second, "timers/lamp")["snapshot"]
        assert lamp["value"]["lamp"] == "off"
        assert lamp["public"]["fired"] == [[None, "on", pytest.approx(lamp_due, abs=1e-6)]]
        replays = start_replays(TESTS, launcher.db, "timers/view", "player/h1", "room/r1",
                                "timers/lamp")

        # The after(10) guard of the untouched actor: the door closes on time, too.
        closed = poll("the door to close",
                      lambda: [e for e in timer_entries(second, "timers/alarm", 2)
                               if e["type"] is None],
                      until=close_due + 5)
        seen = time.time()
        assert closed[0]["time"] == pytest.approx(close_due, abs=1e-6)
        assert seen - close_due < 3, f"closed {seen - close_due:.2f}s late"

        public = get(second, "timers/alarm")["snapshot"]
        assert public["value"]["door"] == "closed"
        assert [[f[0], f[2]] for f in public["public"]["fired"]] == [
            ["REMINDER", pytest.approx(reminder_due, abs=1e-6)],
            [None, pytest.approx(close_due, abs=1e-6)]]

        check_replays(replays)
        assert second.stop() in CLEAN_EXIT
        assert_replays(TESTS, launcher.db, "timers/alarm")


# -- 2. a timer that fell due while the server was down ----------------------------------------

def test_a_timer_due_while_the_server_was_down_fires_right_after_start():
    with servers(TESTS) as launcher:
        first = launcher.start()
        sent = time.time()
        post(first, "timers/late", {"type": "REMIND", "in": 1})
        assert first.kill() == -9
        time.sleep(max(0.0, sent + 1.5 - time.time()))  # well past due, and nobody up

        second = launcher.start()
        started = time.time()
        remind = journal(second, "timers/late")[1]
        assert remind["type"] == "REMIND"
        due = remind["time"] + 1
        assert due < started

        fired = poll("the late reminder",
                     lambda: get(second, "timers/late")["snapshot"]["public"]["fired"],
                     until=started + 5)
        assert time.time() - started < 4
        assert fired[0][0] == "REMINDER"
        assert fired[0][2] == pytest.approx(due, abs=1e-6)  # its original due time
        entry = journal(second, "timers/late")[2]
        assert (entry["kind"], entry["type"]) == ("timer", "REMINDER")
        assert entry["time"] == pytest.approx(due, abs=1e-6)

        assert second.stop() in CLEAN_EXIT
        assert_replays(TESTS, launcher.db, "timers/late")


# -- 3. the crash test -------------------------------------------------------------------------

CRASH_ACTORS = ("todo/crash-0", "todo/crash-1", "todo/crash-2")
CRASH_TASKS = 6
CRASH_REQUESTS = 60  # per task: 360 in all, unless the server dies first (it does)


def crash_seed() -> int:
    given = os.environ.get("ACTORKIT_CRASH_SEED")
    return int(given) if given else random.SystemRandom().randrange(2**31)


async def crash_load(server: Server, seed: int, kill_after: int) -> dict[str, Any]:
    """``CRASH_TASKS`` clients posting to ``CRASH_ACTORS``; the server is SIGKILLed once
    ``kill_after`` answers have come back (plus a little random jitter), while requests are in
    flight. Returns what was acknowledged (200) and what was sent without an answer."""
    acked: list[dict[str, Any]] = []
    unanswered: list[dict[str, Any]] = []
    refused: list[tuple[int, str]] = []
    known: dict[str, list[str]] = {a: [] for a in CRASH_ACTORS}
    threshold = asyncio.Event()
    state: dict[str, Any] = {"killed_at_acks": None, "in_flight": 0}

    async def client(index: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed * 100 + index)
        caller = f"client:u{index}"
        headers = {a: auth(server, a, caller) for a in CRASH_ACTORS}
        for i in range(CRASH_REQUESTS):
            if state["killed_at_acks"] is not None:
                return
            actor = rng.choice(CRASH_ACTORS)
            roll = rng.random()
            if roll < 0.6 or not known[actor]:
                event: dict[str, Any] = {"type": "ADD_TODO", "text": f"u{index}-{i}"}
            elif roll < 0.8:
                event = {"type": "TOGGLE_TODO", "id": rng.choice(known[actor])}
            elif roll < 0.95:
                event = {"type": "REMOVE_TODO", "id": rng.choice(known[actor])}
            else:
                event = {"type": "SET_FILTER", "filter": rng.choice(["all", "completed"])}
            state["in_flight"] += 1
            try:
                r = await http.post(f"{server.url}/api/{actor}", json=event,
                                    headers=headers[actor])
            except httpx.TransportError:
                unanswered.append({"actor": actor, "event": event, "caller": caller})
                return  # the server is gone
            finally:
                state["in_flight"] -= 1
            if r.status_code != 200:
                refused.append((r.status_code, r.text))
                continue
            body = r.json()
            acked.append({"actor": actor, "event": event, "caller": caller,
                          "seq": body["seq"], "outputs": body["outputs"],
                          "handled": body["handled"]})
            for out in body["outputs"]:
                if out["type"] == "TODO_ADDED":
                    known[actor].append(out["todo"]["id"])
            if len(acked) >= kill_after:
                threshold.set()

    async def killer() -> None:
        await threshold.wait()
        await asyncio.sleep(random.Random(seed).uniform(0, 0.02))
        state["killed_at_acks"] = len(acked)
        state["in_flight_at_kill"] = state["in_flight"]
        server.process.kill()  # SIGKILL

    async with httpx.AsyncClient(timeout=10) as http:
        kill = asyncio.create_task(killer())
        await asyncio.wait_for(
            asyncio.gather(*(client(i, http) for i in range(CRASH_TASKS))), timeout=60)
        if not kill.done():  # the load ended first (it should not): kill now
            threshold.set()
            await asyncio.wait_for(kill, 5)
    return {"acked": acked, "unanswered": unanswered, "refused": refused, **state}


@pytest.mark.parametrize("durability", ["process", "power"])
def test_a_crash_loses_nothing_that_was_acknowledged(durability):
    seed = crash_seed()
    rng = random.Random(seed)
    kill_after = rng.randint(30, 250)
    print(f"\ncrash test ({durability}): seed {seed} (ACTORKIT_CRASH_SEED={seed} to rerun), "
          f"SIGKILL after {kill_after} acknowledged requests")
    with servers(ROOT, extra_env={"ACTORKIT_DURABILITY": durability}) as launcher:
        first = launcher.start()
        load = asyncio.run(crash_load(first, seed, kill_after))
        assert first.process.wait(timeout=10) == -9
        assert load["refused"] == []
        acked = load["acked"]
        assert load["killed_at_acks"] is not None
        assert len(acked) < CRASH_TASKS * CRASH_REQUESTS, "the load ended before the kill"
        print(f"  killed at {load['killed_at_acks']} acknowledged, "
              f"{load['in_flight_at_kill']} requests in flight, "
              f"{len(load['unanswered'])} sent without an answer")

        second = launcher.start()
        found_total = 0
        for actor in CRASH_ACTORS:
            entries = journal(second, actor)
            # an event no transition took (a todo removed meanwhile) changed nothing and is
            # not journaled: it was answered with the step it found, which is stored
            missed = [a for a in acked if a["actor"] == actor and not a["handled"]]
            mine = [a for a in acked if a["actor"] == actor and a["handled"]]
            if not entries:  # never reached before the kill
                assert mine == missed == []
                print(f"  {actor}: no journal, nothing acknowledged")
                continue
            # consecutive from 0, the actor's creation first: no gap, no half-written step
            assert [e["seq"] for e in entries] == list(range(len(entries)))
            assert entries[0]["kind"] == "spawn"
            assert all(e["kind"] == "event" and e["error"] is None for e in entries[1:])

            # every acknowledged event is there, at the seq it was acknowledged with
            by_seq = {e["seq"]: e for e in entries}
            found = 0
            for a in mine:
                entry = by_seq.get(a["seq"])
                event = dict(a["event"])
                kind = event.pop("type")
                assert entry is not None, f"acknowledged step {a['seq']} of {actor} is lost"
                assert (entry["type"], entry["data"]) == (kind, event), a
                assert entry["caller"] == {"type": "client", "id": a["caller"][7:]}
                found += 1
            assert len({a["seq"] for a in mine}) == len(mine)  # one step per acknowledgment
            assert all(a["seq"] in by_seq for a in missed)
            found_total += found + len(missed)
            extra = len(entries) - 1 - len(mine)  # committed, answer lost in the crash
            assert 0 <= extra <= len([u for u in load["unanswered"] if u["actor"] == actor])

            # the state is the journal's: rebuild the todo list from the journal's events
            texts = {o["todo"]["id"]: o["todo"]["text"]
                     for a in mine for o in a["outputs"] if o["type"] == "TODO_ADDED"}
            model: dict[str, bool] = {}
            adds = removes = 0
            for e in entries[1:]:
                if e["type"] == "ADD_TODO":
                    model[e["data"]["text"]] = False
                    adds += 1
                elif e["type"] == "REMOVE_TODO" and texts[e["data"]["id"]] in model:
                    del model[texts[e["data"]["id"]]]
                    removes += 1
                elif e["type"] == "TOGGLE_TODO" and texts[e["data"]["id"]] in model:
                    model[texts[e["data"]["id"]]] ^= True
            todos = get(second, actor)["snapshot"]["public"]["todos"]
            assert len(todos) == adds - removes
            assert [(t["text"], t["completed"]) for t in todos] == list(model.items())
            assert all(texts[t["id"]] == t["text"] for t in todos if t["id"] in texts)

            # and it goes on from there
            assert post(second, actor, {"type": "ADD_TODO", "text": "after"})["seq"] == len(
                entries)
            print(f"  {actor}: acknowledged {len(mine)}, found {found}, committed without "
                  f"an answer {extra}, journal {len(entries) + 1} steps, {len(todos)} todos")
        print(f"  total: acknowledged {len(acked)}, found {found_total}")
        assert found_total == len(acked)

        assert second.stop() in CLEAN_EXIT
        touched = {a["actor"] for a in acked}
        assert_replays(ROOT, launcher.db, *(a for a in CRASH_ACTORS if a in touched))


# -- 4. HTTP and WebSocket at once, on one actor -----------------------------------------------

HTTP_CLIENTS, WS_CLIENTS, EACH = 3, 2, 25


async def mixed_load(server: Server, actor: str) -> dict[str, Any]:
    total = (HTTP_CLIENTS + WS_CLIENTS) * EACH
    acks: dict[str, int] = {}
    errors: list[Any] = []
    views: dict[int, dict] = {}
    checksums: dict[int, str] = {}

    async def http_client(index: int, http: httpx.AsyncClient) -> None:
        headers = auth(server, actor, f"client:h{index}")
        for i in range(EACH):
            text = f"h{index}-{i}"
            r = await http.post(f"{server.url}/api/{actor}", headers=headers,
                                json={"type": "ADD_TODO", "text": text})
            if r.status_code != 200:
                errors.append(r.text)
                return
            acks[text] = r.json()["seq"]

    async def ws_client(index: int, start: asyncio.Event) -> None:
        kind, actor_id = actor.split("/")
        token = server.token(kind, actor_id, f"client:w{index}")
        url = f"{server.ws}/api/{actor}?accessToken={token}"
        rng = random.Random(index)
        async with websockets.connect(url) as ws:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            views[index] = apply_patch({}, frame["operations"])

            async def read() -> None:  # until this socket's view has every todo
                while len(views[index]["public"]["todos"]) < total:
                    frame = json.loads(await ws.recv())
                    if "error" in frame:
                        errors.append(frame["error"])
                    views[index] = apply_patch(views[index], frame["operations"])
                    checksums[index] = frame["checksum"]

            reader = asyncio.create_task(read())
            await start.wait()
            for i in range(EACH):
                await ws.send(json.dumps({"type": "ADD_TODO", "text": f"w{index}-{i}"}))
                await asyncio.sleep(rng.uniform(0, 0.01))  # a burst would run in one go
            await asyncio.wait_for(reader, 20)

    start = asyncio.Event()
    async with httpx.AsyncClient(timeout=10) as http:
        sockets = [asyncio.create_task(ws_client(i, start)) for i in range(WS_CLIENTS)]
        await asyncio.sleep(0)  # the sockets connect as the first POSTs go out
        start.set()
        await asyncio.wait_for(asyncio.gather(
            *(http_client(i, http) for i in range(HTTP_CLIENTS)), *sockets), timeout=40)
    return {"acks": acks, "errors": errors, "views": views, "checksums": checksums}


def test_http_and_websocket_events_to_one_actor_keep_one_serial_order():
    actor = "todo/mixed"
    with servers(ROOT) as launcher:
        server = launcher.start()
        result = asyncio.run(mixed_load(server, actor))
        assert result["errors"] == []
        final = get(server, actor)
        for index, view in result["views"].items():
            assert view == final["snapshot"], f"socket {index}"
            assert result["checksums"][index] == final["checksum"], f"socket {index}"

        entries = journal(server, actor)
        total = (HTTP_CLIENTS + WS_CLIENTS) * EACH
        assert [e["seq"] for e in entries] == list(range(total + 1))
        texts = [e["data"]["text"] for e in entries if e["type"] == "ADD_TODO"]
        sent = [f"{src}{i}-{n}" for src, count in (("h", HTTP_CLIENTS), ("w", WS_CLIENTS))
                for i in range(count) for n in range(EACH)]
        assert Counter(texts) == Counter(sent)  # every event exactly once
        seq_of = {e["data"]["text"]: e["seq"] for e in entries if e["type"] == "ADD_TODO"}
        for text, seq in result["acks"].items():
            assert seq_of[text] == seq, text  # HTTP got the seq the journal has
        for src, count in (("h", HTTP_CLIENTS), ("w", WS_CLIENTS)):
            for i in range(count):  # each sender's events in the order it sent them
                seqs = [seq_of[f"{src}{i}-{n}"] for n in range(EACH)]
                assert seqs == sorted(seqs), f"{src}{i}"
        assert [t["text"] for t in final["snapshot"]["public"]["todos"]] == texts
        sources = [text[0] for text in texts]
        switches = sum(a != b for a, b in itertools.pairwise(sources))
        print(f"\n{len(texts)} events, HTTP and WebSocket interleaved {switches} times")
        assert switches >= 10  # they did run at the same time

        assert server.stop() in CLEAN_EXIT
        assert_replays(ROOT, launcher.db, actor)
