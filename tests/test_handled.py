"""Events that change nothing (no transition for them, or every guard false): the sender is
told (``handled: false``), nothing is committed or journaled, and replay stays exact; and
``can()``, which says beforehand whether an event would be handled."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from servers import serve
from sismic.interpreter import Interpreter
from sismic.io import import_from_yaml
from support import ROOT, FakeClock, alice, chart, ops

from actorkit import Actor, Caller, HookError, Quarantined, load_chart
from actorkit.journal import replay, verify
from actorkit.runtime import ActorSystem
from actorkit.store import Entry, SqliteStore

TODO = ROOT / "charts" / "todo.yaml"


@pytest.fixture
def todo(clock: FakeClock) -> Actor:
    actor = Actor.spawn(load_chart(TODO), "list-1", caller=alice, input={}, clock=clock)
    actor.send({"type": "ADD_TODO", "text": "milk"}, alice)
    return actor


def test_an_event_whose_guard_is_false_is_not_handled_and_changes_nothing(todo):
    before = todo.snapshot_json()
    result = todo.send({"type": "TOGGLE_TODO", "id": "no-such-todo"}, alice)
    assert result.handled is False
    assert result.seq == 1 == todo.seq  # no step was committed
    assert result.outputs == ()
    assert todo.snapshot_json() == before

    handled = todo.send({"type": "TOGGLE_TODO", "id": todo.context["public"]["todos"][0]["id"]},
                        alice)
    assert handled.handled is True and handled.seq == 2


def test_an_event_with_no_transition_in_the_active_states_is_not_handled(clock):
    txn = Actor.spawn(chart("txn"), "t", caller=alice, clock=clock)
    txn.send({"type": "GO"}, alice)  # now in busy, which takes only BACK
    before = txn.snapshot_json()
    result = txn.send({"type": "INC"}, alice)
    assert result.handled is False and result.seq == txn.seq == 1
    assert txn.snapshot_json() == before


def test_an_unhandled_event_is_not_journaled(clock):
    txn = Actor.spawn(chart("txn"), "t", caller=alice, clock=clock)
    txn.record_steps = True
    txn.send({"type": "GO"}, alice)
    txn.send({"type": "INC"}, alice)
    txn.send({"type": "BACK"}, alice)
    assert [(r.seq, r.type) for r in txn.take_steps()] == [(1, "GO"), (2, "BACK")]


def test_sismic_does_not_count_an_event_that_took_no_transition_as_activity():
    """The premise of not journaling such events: sismic's idle() (and after()) measure from
    the last transition, so an event that took none leaves them as they were."""
    statechart = import_from_yaml("""
statechart:
  name: lamp
  root state:
    name: root
    initial: lit
    states:
      - name: lit
        transitions:
          - {event: touch, target: lit}
          - {guard: idle(5), target: dark}
      - name: dark
""")
    interpreter = Interpreter(statechart)
    interpreter.clock.time = 0
    interpreter.execute()
    interpreter.clock.time = 3
    interpreter.queue("poke")  # no transition takes it
    interpreter.execute()
    interpreter.clock.time = 5
    interpreter.execute()
    assert interpreter.configuration == ["root", "dark"]


def test_an_unhandled_event_leaves_idle_timers_and_replay_exact(tmp_path: Path):
    """The timers chart's lamp goes off after idle(5); a CLOSE to a closed door in between
    (unhandled) neither delays that, as in sismic, nor breaks the replay of the journal."""
    clock = FakeClock()
    timers = chart("timers")

    async def run() -> None:
        system = ActorSystem({"timers": timers}, store=SqliteStore(tmp_path / "a.db"),
                             clock=clock)
        try:
            await system.send("timers", "t", alice, {"type": "TOUCH"})
            clock.t += 3
            result, _ = await system.send("timers", "t", alice, {"type": "CLOSE"})
            assert result.handled is False and result.seq == 1
            clock.t += 2
            await system.tick("timers", "t")
            actor = system.get("timers", "t")
            assert actor is not None and actor.value["lamp"] == "off"
            journal = await system.journal("timers", "t")
            assert [e.type for e in journal] == [None, "TOUCH", None]  # spawn, event, timer
            stored = await system.store.load("timers", "t")
            assert stored is not None
            verdict = await verify(system.store, timers, stored)
            assert verdict.same and verdict.seq == 2
        finally:
            await system.close()

    asyncio.run(run())


# -- can() -----------------------------------------------------------------------------------

def test_can_says_whether_an_event_would_be_handled_without_changing_the_actor(todo):
    before = todo.snapshot_json()
    first = todo.context["public"]["todos"][0]["id"]
    assert todo.can({"type": "TOGGLE_TODO", "id": first}, alice) is True
    assert todo.can({"type": "TOGGLE_TODO", "id": "no-such-todo"}, alice) is False
    assert todo.can({"type": "ADD_TODO", "text": ""}, alice) is False  # its schema refuses it
    assert todo.can({"type": "SYNC_TODOS", "todos": []}, alice) is False  # service-only
    assert todo.can({"type": "SYNC_TODOS", "todos": []}, ops) is True
    assert todo.can({"type": "INITIALIZE"}, Caller.system("list-1")) is False
    assert todo.snapshot_json() == before and todo.seq == 1


def test_can_runs_guards_but_not_actions(clock):
    txn = Actor.spawn(chart("txn"), "t", caller=alice, clock=clock)
    assert txn.can({"type": "BOOM"}, alice) is True  # its action raises; send would fail
    with pytest.raises(HookError, match="bad_guard") as raised:
        txn.can({"type": "BAD_GUARD"}, alice)
    assert raised.value.event_type == "BAD_GUARD"
    txn.send({"type": "GO"}, alice)
    assert txn.can({"type": "INC"}, alice) is False
    assert txn.can({"type": "BACK"}, alice) is True
    txn.send({"type": "BACK"}, alice)
    txn.send({"type": "FINISH"}, alice)
    assert txn.can({"type": "INC"}, alice) is False  # done: it takes no more events


def test_can_sees_the_timers_that_are_due_first(clock):
    """The door closes itself after(10): at +10 a CLOSE finds it closed already."""
    timers = Actor.spawn(chart("timers"), "t", caller=alice, clock=clock)
    timers.send({"type": "OPEN"}, alice)
    assert timers.can({"type": "CLOSE"}, alice) is True
    clock.t += 10
    before = timers.snapshot_json()
    assert timers.can({"type": "CLOSE"}, alice) is False
    assert timers.snapshot_json() == before  # the due timer ran on a copy only
    assert timers.send({"type": "CLOSE"}, alice).handled is False


def test_can_on_a_quarantined_actor_raises_as_send_does(clock):
    snap = Actor.spawn(chart("txn"), "t", caller=alice, clock=clock).snapshot()
    snap["quarantine"] = {"since": clock.t, "reason": "test"}
    quarantined = Actor.restore(chart("txn"), snap, clock=clock)
    with pytest.raises(Quarantined):
        quarantined.can({"type": "INC"}, alice)


def test_the_actor_system_answers_can_and_creates_no_actor(tmp_path: Path):
    clock = FakeClock()
    txn = chart("txn")

    async def run() -> None:
        system = ActorSystem({"txn": txn}, store=SqliteStore(tmp_path / "a.db"), clock=clock)
        try:
            assert await system.can("txn", "new", alice, {"type": "GO"}) is True
            assert await system.store.load("txn", "new") is None  # asking made no actor
            await system.send("txn", "t", alice, {"type": "GO"})
            assert await system.can("txn", "t", alice, {"type": "INC"}) is False
            assert await system.can("txn", "t", alice, {"type": "BACK"}) is True
            stored = await system.store.load("txn", "t")
            assert stored is not None and stored.seq == 1
        finally:
            await system.close()

    asyncio.run(run())


# -- over HTTP -------------------------------------------------------------------------------

def test_post_tells_the_sender_whether_its_event_was_handled():
    with serve(ROOT) as server:
        def post(event: dict[str, object], caller: str = "client:alice") -> httpx.Response:
            token = server.token("todo", "h-1", caller)
            return httpx.post(f"{server.url}/api/todo/h-1", content=json.dumps(event),
                              headers={"Authorization": f"Bearer {token}"})

        added = post({"type": "ADD_TODO", "text": "milk"}).json()
        assert added["success"] is True and added["handled"] is True and added["seq"] == 1
        missed = post({"type": "TOGGLE_TODO", "id": "no-such-todo"})
        assert missed.status_code == 200
        body = missed.json()
        assert body == {"success": True, "handled": False, "seq": 1,
                        "checksum": added["checksum"], "outputs": []}
        journal = httpx.get(f"{server.url}/api/todo/h-1/events", headers={
            "Authorization": f"Bearer {server.token('todo', 'h-1', 'service:ops')}"}).json()
        assert [e["type"] for e in journal["events"]] == [None, "ADD_TODO"]


def test_a_journal_that_holds_an_unhandled_event_as_a_step_still_replays(clock):
    """Journals written before unhandled events were left out hold them as steps: a replay
    commits them as the server did."""
    todo = load_chart(TODO)
    t0 = clock.t
    journal = [
        Entry(0, t0, "spawn", alice, None, {"input": {}}),
        Entry(1, t0 + 1, "event", alice, "ADD_TODO", {"text": "milk"}),
        Entry(2, t0 + 2, "event", alice, "TOGGLE_TODO", {"id": "no-such-todo"}),
        Entry(3, t0 + 3, "event", alice, "ADD_TODO", {"text": "eggs"}),
    ]
    actor = replay(todo, "list-1", journal)
    assert actor.seq == 3
    assert [t["text"] for t in actor.context["public"]["todos"]] == ["milk", "eggs"]
