"""Actors that message actors: ctx.tell(), the outbox, delivery once and in order, refusals
that come back as MESSAGE_FAILED, spawning by message, and replays of both sides."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from support import CHARTS, ROOT, alice, run_actorkit

from actorkit import Actor, Caller, EventRejected, HookError, load_chart
from actorkit.journal import replay, up_to, verify
from actorkit.lint import chart_files
from actorkit.runtime import ActorSystem
from actorkit.store import MemoryStore
from actorkit.store.sqlite import SqliteStore
from actorkit.testing import PropertyFailure, check_chart
from actorkit.testing.report import coverage_text, pytest_code, text_report

TELLER = Caller.actor("teller", "t1")


def charts() -> dict:
    return {c.actor_type: c for c in (load_chart(CHARTS / f"{n}.yaml")
                                      for n in ("teller", "tally", "vault"))}


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait for ``check`` to hold; a bound only so that a broken delivery fails, not hangs."""
    for _ in range(2000):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


def public(s: ActorSystem, actor_type: str, actor_id: str) -> dict:
    actor = s.get(actor_type, actor_id)
    return actor.view(alice)["public"] if actor is not None else {}


def test_a_tell_leaves_with_its_step_or_not_at_all():
    teller = Actor.spawn(charts()["teller"], "t1", caller=alice)
    teller.send({"type": "TELL", "to": "tally", "id": "x", "event": "NUMBER",
                 "fields": {"n": 1}, "input": {"start": 3}}, alice)
    assert teller.outbox == [{"seq": 1, "index": 0, "to": {"type": "tally", "id": "x"},
                              "event": {"type": "NUMBER", "n": 1}, "input": {"start": 3}}]
    assert teller.next_wake == teller.time  # at once: it has a message to deliver
    before = teller.snapshot_json()
    with pytest.raises(HookError, match="fails after telling"):
        teller.send({"type": "TELL_THEN_FAIL", "to": "tally", "id": "x", "event": "NUMBER"},
                    alice)
    assert teller.snapshot_json() == before  # the failed step told nothing
    assert Actor.restore(teller.chart, before).outbox == teller.outbox  # stored with the step


def test_a_schemas_file_with_an_actor_section_is_not_taken_for_a_chart():
    found = {p.name for p in chart_files([CHARTS])}
    assert {"teller.yaml", "tally.yaml"} <= found
    assert not {p for p in chart_files([CHARTS]) if p.parent.name == "schemas"}


def test_a_receiver_takes_a_message_once_and_sees_who_sent_it():
    tally = Actor.spawn(charts()["tally"], "x", caller=alice)
    message = {"seq": 4, "index": 1, "event": {"type": "NUMBER", "n": 7}}
    step = tally.receive(message, TELLER)
    assert step is not None and step.caller == TELLER
    assert tally.view(alice)["public"]["senders"] == ["teller/t1"]
    assert tally.receive(message, TELLER) is None  # a duplicate: nothing runs
    assert tally.receive({**message, "index": 0}, TELLER) is None  # older still
    assert tally.view(alice)["public"]["numbers"] == [7]
    with pytest.raises(EventRejected, match="CLOSE is a client-only event; an actor caller"):
        tally.receive({"seq": 5, "index": 0, "event": {"type": "CLOSE"}}, TELLER)
    with pytest.raises(EventRejected, match="actor events come only from the actorkit"):
        tally.send({"type": "NUMBER", "n": 1}, TELLER)


def test_messages_arrive_in_order_once_and_both_journals_replay(tmp_path: Path):
    async def go() -> None:
        s = ActorSystem(charts(), store=SqliteStore(tmp_path / "a.db"))
        await s.send("teller", "t1", alice, {"type": "TELL_MANY", "to": "tally", "id": "x",
                                              "count": 30})
        await until(lambda: len(public(s, "tally", "x").get("numbers", [])) == 30 and
                    not s.get("teller", "t1").outbox, "30 numbers delivered")
        assert public(s, "tally", "x") == {"numbers": list(range(30)),
                                           "senders": ["teller/t1"], "start": 0}
        journal = await up_to(s.store, "tally", "x", 10_000)
        assert journal[0].kind == "spawn" and journal[0].caller == TELLER
        taken = [e for e in journal if e.kind == "message"]
        assert [e.data for e in taken] == [{"data": {"n": n}, "message": [1, n]}
                                           for n in range(30)]
        assert {e.caller for e in taken} == {TELLER}
        sent = await up_to(s.store, "teller", "t1", 10_000)
        assert [e.type for e in sent[2:]] == ["DELIVERED"] * 30
        for actor_type, actor_id in (("teller", "t1"), ("tally", "x")):
            stored = await s.store.load(actor_type, actor_id)
            assert stored is not None
            assert (await verify(s.store, s.charts[actor_type], stored)).same
        await s.close()

    asyncio.run(go())


def test_refused_and_failing_deliveries_come_back_as_message_failed(tmp_path: Path):
    async def go() -> None:
        s = ActorSystem(charts(), store=SqliteStore(tmp_path / "a.db"))
        await s.send("tally", "done", alice, {"type": "CLOSE"})  # in its final state
        tells = [("nope", "x", "NUMBER", {}), ("tally", "x", "SHOUT", {}),
                 ("tally", "x", "NUMBER", {"n": "one"}), ("tally", "x", "BOOM", {}),
                 ("vault", "v", "NUMBER", {"n": 1}), ("tally", "done", "NUMBER", {"n": 1}),
                 ("tally", "a/b", "NUMBER", {"n": 1})]
        for to, actor_id, event, fields in tells:
            await s.send("teller", "t1", alice, {"type": "TELL", "to": to, "id": actor_id,
                                                  "event": event, "fields": fields})
        await until(lambda: len(public(s, "teller", "t1")["failures"]) == len(tells),
                    "every refusal back")
        failures = public(s, "teller", "t1")["failures"]
        assert [(f["to"], f["event"]) for f in failures] == [
            ({"type": t, "id": i}, e) for t, i, e, _ in tells]
        errors = [f["error"] for f in failures]
        assert "no chart is served under actor type 'nope'" in errors[0]
        assert "unknown event type 'SHOUT' for actor callers" in errors[1]
        assert "'one' is not of type 'integer'" in errors[2]
        assert "the step of tally/x on BOOM failed: HookError in hook boom (reference" in \
            errors[3] and "tally.py" not in errors[3]  # where the hook failed is the log's
        assert "add `spawned_by: [teller]`" in errors[4]
        assert "final state" in errors[5]
        assert "no '/'" in errors[6]
        assert not s.get("teller", "t1").outbox
        assert public(s, "tally", "x")["numbers"] == []  # spawned by the first, took none
        assert await s.store.load("vault", "v") is None  # not spawned
        stored = await s.store.load("teller", "t1")
        assert (await verify(s.store, s.charts["teller"], stored)).same
        await s.close()

    asyncio.run(go())


def test_a_spawned_receiver_gets_the_input_told_with_the_message():
    async def go() -> None:
        s = ActorSystem(charts(), store=MemoryStore())
        await s.send("teller", "t1", alice, {"type": "TELL", "to": "tally", "id": "y",
                                              "event": "NUMBER", "fields": {"n": 2},
                                              "input": {"start": 9}})
        await s.send("teller", "t1", alice, {"type": "TELL", "to": "tally", "id": "z",
                                              "event": "NUMBER", "fields": {"n": 2},
                                              "input": {"start": "nine"}})
        await until(lambda: not s.get("teller", "t1").outbox, "both delivered")
        assert public(s, "tally", "y") == {"numbers": [2], "senders": ["teller/t1"],
                                           "start": 9}
        assert s.get("tally", "y").initial_caller == TELLER
        failures = public(s, "teller", "t1")["failures"]
        assert len(failures) == 1 and "input rejected at /start" in failures[0]["error"]
        await s.close()

    asyncio.run(go())


def test_actors_that_tell_each_other_do_not_wait_on_each_other():
    async def go() -> None:
        s = ActorSystem(charts(), store=MemoryStore())
        for n in range(5):
            await s.send("teller", "t1", alice, {"type": "TELL", "to": "tally", "id": "p",
                                                  "event": "PING", "fields": {"n": n}})
        await until(lambda: len(public(s, "teller", "t1")["replies"]) == 5, "5 replies")
        assert public(s, "teller", "t1")["replies"] == [
            {"n": n, "from": "tally/p"} for n in range(5)]
        await s.close()

    asyncio.run(go())


def test_replay_of_the_steps_that_take_messages_out():
    teller = Actor.spawn(charts()["teller"], "t1", caller=alice)
    teller.record_steps = True
    teller.send({"type": "TELL", "to": "tally", "id": "x", "event": "NUMBER",
                 "fields": {"n": 1}}, alice)
    teller.send({"type": "TELL", "to": "tally", "id": "x", "event": "NUMBER",
                 "fields": {"n": 2}}, alice)
    assert teller.delivered(2, 0) is None  # not the head: nothing
    teller.delivered(1, 0)
    teller.delivered(2, 0, "refused")
    from actorkit.journal import entries, spawn_entry

    journal = [spawn_entry(Actor.spawn(teller.chart, "t1", caller=alice,
                                       clock=lambda: 0.0))]
    rebuilt = replay(teller.chart, "t1", [*journal, *entries(teller.take_steps())])
    assert rebuilt.outbox == [] and rebuilt.view(alice) == teller.view(alice)
    assert teller.view(alice)["public"]["failures"][0]["error"] == "refused"


def test_lint_checks_what_hooks_tell_against_the_charts_beside_them(tmp_path: Path):
    for part, suffix in (("charts", "yaml"), ("hooks", "py"), ("schemas", "yaml")):
        (tmp_path / part).mkdir()
        for name in ("lobby", "room"):
            shutil.copy(ROOT / part / f"{name}.{suffix}", tmp_path / part)
    hooks = tmp_path / "hooks" / "lobby.py"
    hooks.write_text(hooks.read_text()
                     + '\n\ndef more(ctx, event):\n    ctx.tell("rooom", "r", "START")\n'
                     + '    ctx.tell("room", "r", "STRAT")\n'
                     + '    ctx.tell("room", ctx.actor_id, ctx.public["next"])  # computed\n')
    run = run_actorkit("lint", "charts", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    problems = [line for line in run.stdout.splitlines() if "AK304" in line]
    lines = hooks.read_text().splitlines()
    at = lines.index('    ctx.tell("rooom", "r", "START")') + 1
    assert problems[0].startswith(f"hooks/lobby.py:{at}:5: AK304 ctx.tell() to actor type "
                                  f"'rooom', which no chart here serves (lobby, room)")
    assert problems[1].startswith(f"hooks/lobby.py:{at + 1}:5: AK304 ctx.tell() of 'STRAT' "
                                  f"to 'room', which does not declare it under `actor:`")
    assert len(problems) == 2
    alone = run_actorkit("lint", "charts/lobby.yaml", cwd=tmp_path)  # room.yaml is beside it
    assert [line for line in alone.stdout.splitlines() if "AK304" in line] == problems


def project_copy(folder: Path) -> Path:
    """The lobby and room example in ``folder``."""
    for part, suffix in (("charts", "yaml"), ("hooks", "py"), ("schemas", "yaml")):
        (folder / part).mkdir()
        for name in ("lobby", "room"):
            shutil.copy(ROOT / part / f"{name}.{suffix}", folder / part)
    return folder


def test_the_property_tester_runs_a_pair_of_charts_that_message_each_other():
    lobby, room = (load_chart(ROOT / "charts" / f"{n}.yaml") for n in ("lobby", "room"))
    found = check_chart(lobby, peers=[lobby, room], seed=1, max_examples=60)
    assert found.ok, text_report(found)
    # rooms it told answer it, as the actors they are: every transition of the lobby ran
    assert "transitions 4/4" in coverage_text(found)
    found = check_chart(room, peers=[lobby, room], seed=1, max_examples=60)
    assert found.ok, text_report(found)
    assert "START" not in coverage_text(found)  # the lobby (that may spawn it) started it


def test_the_property_tester_finds_a_tell_its_receiver_refuses(tmp_path: Path):
    project = project_copy(tmp_path)
    schemas = project / "schemas" / "room.yaml"
    schemas.write_text(schemas.read_text().replace(
        "  START: {}", "  START: {properties: {mode: {type: string}}, required: [mode]}"))
    lobby, room = (load_chart(project / "charts" / f"{n}.yaml") for n in ("lobby", "room"))
    found = check_chart(lobby, peers=[room], seed=1, max_examples=60)
    assert found.check == "tell-refused", text_report(found)
    assert "which chart 'room' refuses: " in str(found.failure)
    assert "'mode' is a required property" in str(found.failure)
    code = pytest_code(found)
    assert "peers=[" in code
    scope: dict = {}
    exec(compile(code, "scenario", "exec"), scope)
    test = next(v for k, v in scope.items() if k.startswith("test_"))
    with pytest.raises(PropertyFailure, match="tell-refused"):
        test()


def test_a_message_to_a_quarantined_actor_comes_back_refused(tmp_path: Path):
    async def go() -> None:
        s = ActorSystem(charts(), store=SqliteStore(tmp_path / "a.db"))
        cell = await s.cell("tally", "q", alice)
        async with cell.hold():
            await s.quarantine(cell, "its hooks are broken (on purpose, in this test)")
        await s.send("teller", "t1", alice, {"type": "TELL", "to": "tally", "id": "q",
                                              "event": "NUMBER", "fields": {"n": 1}})
        await until(lambda: bool(public(s, "teller", "t1")["failures"]), "the refusal back")
        [failure] = public(s, "teller", "t1")["failures"]
        assert "tally/q is quarantined since" in failure["error"]
        assert "on purpose" not in failure["error"]  # why is the operator's to read
        assert not s.get("teller", "t1").outbox
        await s.close()

    asyncio.run(go())
