"""Journals: the entries committed steps become, their replay (byte for byte the state the
actor reached), replay errors, and ``actorkit replay`` on a real SQLite store."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import pytest
from support import ROOT, FakeClock, alice, bob, ops, run_actorkit

from actorkit import Actor, Caller, Chart, EventRejected, HookError, load_chart
from actorkit.journal import ReplayError, entries, replay, spawn_entry
from actorkit.runtime import ActorSystem
from actorkit.store import Entry, SqliteStore

#: A project of its own (charts/, hooks/, schemas/) with the desk chart, for the CLI too.
PROJECT = ROOT / "tests" / "journal"
SYSTEM = Caller.system("d")


@pytest.fixture(scope="module")
def desk() -> Chart:
    return load_chart(PROJECT / "charts" / "desk.yaml")


class Driven:
    """A desk actor driven through every kind of step, with the journal its steps made."""

    def __init__(self, chart: Chart) -> None:
        self.clock = FakeClock()
        self.t0 = self.clock.t
        self.actor = Actor.spawn(chart, "d", caller=alice, clock=self.clock)
        self.actor.record_steps = True
        self.journal = [spawn_entry(self.actor)]

    def do(self, operation: Callable[[Actor], Any]) -> None:
        """Run ``operation``; whatever steps it committed (even if it then raised) go to the
        journal, as the actor system does."""
        try:
            operation(self.actor)
        finally:
            self.journal.extend(entries(self.actor.take_steps()))


@pytest.fixture(scope="module")
def driven(desk: Chart) -> Driven:
    d = Driven(desk)
    d.do(lambda a: a.connect(alice))
    d.do(lambda a: a.send({"type": "NOTE", "text": "hello"}, alice))
    d.do(lambda a: a.send({"type": "NOTE", "text": "from ops"}, ops))
    d.do(lambda a: a.connect(bob))
    d.do(lambda a: a.send({"type": "LATER", "what": "PING", "in": 10}, alice))
    d.do(lambda a: a.send({"type": "LATER", "what": "FAIL", "in": 5}, alice))
    d.do(lambda a: a.send({"type": "BEEP_LATER"}, alice))  # sismic's send(delay=3)
    d.do(lambda a: a.send({"type": "BREAK"}, bob))  # after(60)
    d.clock.t += 4
    d.do(lambda a: a.send({"type": "NOTE", "text": "beep first"}, alice))  # BEEP was due
    with pytest.raises(EventRejected):
        d.do(lambda a: a.send({"type": "NOTE"}, alice))
    with pytest.raises(HookError):
        d.do(lambda a: a.send({"type": "FAIL"}, alice))
    d.clock.t += 100
    d.do(lambda a: a.advance())  # FAIL (dropped), PING, the after(60) guard
    d.do(lambda a: a.disconnect(bob))
    d.do(lambda a: a.resume())
    d.do(lambda a: a.send({"type": "NOTE", "text": "last"}, alice))
    return d


def test_committed_steps_become_entries_of_their_kind(driven):
    t0 = driven.t0
    got = [(e.seq, e.time - t0, e.kind, e.type, str(e.caller)) for e in driven.journal]
    assert got == [
        (0, 0, "spawn", None, "client:alice"),
        (1, 0, "system", "CONNECT", "system:d"),
        (2, 0, "event", "NOTE", "client:alice"),
        (3, 0, "event", "NOTE", "service:ops"),
        (4, 0, "system", "CONNECT", "system:d"),
        (5, 0, "event", "LATER", "client:alice"),
        (6, 0, "event", "LATER", "client:alice"),
        (7, 0, "event", "BEEP_LATER", "client:alice"),
        (8, 0, "event", "BREAK", "client:bob"),
        (9, 3, "timer", None, "system:d"),  # the delayed BEEP, at its own time
        (10, 4, "event", "NOTE", "client:alice"),
        # the rejected NOTE and the failing FAIL event committed nothing: no entries
        (11, 5, "timer", "FAIL", "system:d"),
        (12, 10, "timer", "PING", "system:d"),
        (13, 60, "timer", None, "system:d"),  # after(60)
        (14, 104, "system", "DISCONNECT", "system:d"),
        (15, 104, "system", "RESUME", "system:d"),
        (16, 104, "event", "NOTE", "client:alice"),
    ]
    spawn, connect, ping, fail = (driven.journal[i] for i in (0, 1, 12, 11))
    assert spawn.data == {"input": {}} and spawn.error is None
    assert connect.data == {"connectingCaller": {"type": "client", "id": "alice"}}
    assert ping.data == {"text": "after 10"} and ping.error is None
    # the failing timer was rolled back and dropped: a step of its own, with its error
    assert fail.data == {"text": "after 5"}
    assert fail.error is not None and "this timer always fails" in fail.error
    assert driven.actor.seq == 16 and driven.actor.timers == []


def test_replay_rebuilds_the_state_byte_for_byte(desk, driven):
    rebuilt = replay(desk, "d", driven.journal)
    assert rebuilt.snapshot_json() == driven.actor.snapshot_json()
    log = rebuilt.view(alice)["public"]["log"]
    assert [entry[0] for entry in log] == ["NOTE", "NOTE", "BEEP", "NOTE", "PING", None, "NOTE"]
    assert rebuilt.view(alice)["public"]["resumed"] == 1
    assert rebuilt.context["ids"] == driven.actor.context["ids"]  # ctx.new_id() replays too
    # every prefix of the journal replays to the state after that step
    middle = replay(desk, "d", driven.journal[:11])
    assert middle.seq == 10 and middle.next_deadline == driven.t0 + 5


def test_replay_of_a_journal_that_does_not_start_with_the_spawn(desk, driven):
    with pytest.raises(ReplayError, match=r"^the journal of desk/d does not start with the "
                                          r"actor's creation \(first entry: step 1\)$"):
        replay(desk, "d", driven.journal[1:])
    with pytest.raises(ReplayError, match=r"^the journal of desk/d is empty$"):
        replay(desk, "d", [])


def at(driven: Driven, seq: int, kind: str, type: str | None, data: Any = None,
       caller: Caller = alice) -> Entry:
    return Entry(seq, driven.journal[seq - 1].time, kind, caller, type, data)  # type: ignore[arg-type]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.journal[:5] + d.journal[6:],  # step 5 lost
     r"^replaying step 6 \(event LATER\) of desk/d gave step 5: the chart or its hooks "
     r"behave differently now$"),
    (lambda d: [*d.journal[:3], at(d, 3, "timer", "PING", caller=SYSTEM)],  # nothing due
     r"^replaying step 3 \(timer PING\) of desk/d gave step 2: "),
    (lambda d: [*d.journal[:3], at(d, 3, "event", "SHOUT", {})],  # no such event now
     r"^replaying step 3 \(event SHOUT\) of desk/d failed: EventRejected: .*unknown event "
     r"type 'SHOUT'.*; the chart or its hooks behave differently now$"),
    (lambda d: [*d.journal[:3], at(d, 3, "event", "FAIL", {})],  # its hook raises now
     r"^replaying step 3 \(event FAIL\) of desk/d failed: HookError: .*this timer always "
     r"fails"),
    (lambda d: [*d.journal[:3], at(d, 3, "system", "REBOOT", {}, SYSTEM)],
     r"^unknown journal entry system REBOOT at step 3$"),
])
def test_a_journal_whose_steps_no_longer_match_is_a_replay_error(desk, driven, change,
                                                                  message):
    with pytest.raises(ReplayError, match=message):
        replay(desk, "d", change(driven))


# -- actorkit replay -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, desk: Chart) -> Path:
    """A SQLite store with desk/d, made by two runs of an actor system (so a RESUME too),
    and desk/e with one event."""
    path = tmp_path_factory.mktemp("store") / "actors.db"
    clock = FakeClock()

    async def first_run() -> None:
        system = ActorSystem({"desk": desk}, store=SqliteStore(path), clock=clock)
        await system.start()
        frames: list[str] = []
        conn = await system.connect("desk", "d", bob, frames.append)
        await system.send("desk", "d", alice, {"type": "NOTE", "text": "hi"})
        await system.send("desk", "d", ops, {"type": "NOTE", "text": "synced"})
        await system.send("desk", "d", alice, {"type": "LATER", "what": "PING", "in": 5})
        await system.send("desk", "d", alice, {"type": "LATER", "what": "FAIL", "in": 2})
        await system.send("desk", "d", alice, {"type": "BREAK"})
        clock.t += 90
        await system.tick("desk", "d")
        await system.disconnect(conn)
        await system.close()

    async def second_run() -> None:
        system = ActorSystem({"desk": desk}, store=SqliteStore(path), clock=clock)
        await system.start()
        view = await system.snapshot("desk", "d", alice)
        assert view.data["public"]["resumed"] == 1
        await system.close()

    async def another() -> None:
        system = ActorSystem({"desk": desk}, store=SqliteStore(path), clock=clock)
        await system.start()
        await system.send("desk", "e", alice, {"type": "NOTE", "text": "also here"})
        await system.close()

    asyncio.run(first_run())
    clock.t += 10
    asyncio.run(second_run())
    asyncio.run(another())
    return path


def test_cli_replay_of_an_untouched_store_is_the_same(db):
    run = run_actorkit("replay", "desk", "d", "--project", PROJECT, "--db", db)
    assert run.returncode == 0, run.stdout + run.stderr
    # spawn, CONNECT, 5 events, 3 timer steps, DISCONNECT, then RESUME after the restart
    assert run.stdout.startswith("desk/d: 12 journal entries replayed to step 11; stored "
                                 "state "), run.stdout
    assert run.stdout.rstrip().endswith(": the same")
    assert run.stderr == ""


def test_cli_replay_to_a_step_prints_the_actor_as_its_journal_rebuilds_it_there(db, desk):
    run = run_actorkit("replay", "desk", "d", "--to", "2", "--project", PROJECT, "--db", db)
    assert run.returncode == 0, run.stdout + run.stderr
    shown = orjson.loads(run.stdout)

    async def first_steps() -> list[Entry]:
        store = SqliteStore(db)
        try:
            return await store.journal("desk", "d", limit=3)
        finally:
            await store.close()
    then = replay(desk, "d", asyncio.run(first_steps()))
    assert shown == {"seq": 2, "value": then.value, "context": then.context}
    assert shown["context"]["public"] != orjson.loads(
        run_actorkit("replay", "desk", "d", "--to", "11", "--project", PROJECT, "--db", db
                     ).stdout)["context"]["public"]
    missing = run_actorkit("replay", "desk", "d", "--to", "99", "--project", PROJECT, "--db", db)
    assert missing.returncode == 2
    assert "has no step 99" in missing.stderr and "its last step is 11" in missing.stderr


def test_cli_replay_without_an_id_replays_every_actor_of_the_type(db, tmp_path):
    run = run_actorkit("replay", "desk", "--project", PROJECT, "--db", db)
    assert run.returncode == 0, run.stdout + run.stderr
    assert [line.split(":")[0] for line in run.stdout.splitlines()] == ["desk/d", "desk/e"]
    assert all(line.endswith(": the same") for line in run.stdout.splitlines())

    copy = tampered_copy(db, tmp_path, "DELETE FROM journal WHERE id = 'd' AND seq = 2")
    run = run_actorkit("replay", "desk", "--project", PROJECT, "--db", copy)
    assert run.returncode == 1  # d no longer replays; e still does, and is reported
    assert run.stdout.startswith("desk/e: ") and "replaying step 3" in run.stderr


def test_verify_replays_to_the_stored_step_while_the_actor_goes_on(desk, tmp_path):
    from actorkit.journal import verify

    async def run() -> None:
        system = ActorSystem({"desk": desk}, store=SqliteStore(tmp_path / "live.db"),
                             clock=FakeClock())
        await system.start()
        await system.send("desk", "l", alice, {"type": "NOTE", "text": "one"})
        stored = await system.store.load("desk", "l")  # what `actorkit replay` reads first
        assert stored is not None
        await system.send("desk", "l", alice, {"type": "NOTE", "text": "two"})  # a live server
        verdict = await verify(system.store, desk, stored, page=1)
        assert verdict.same and verdict.seq == stored.seq
        await system.close()

    asyncio.run(run())


def tampered_copy(db: Path, tmp_path: Path, sql: str, *params: Any) -> Path:
    copy = tmp_path / "tampered.db"
    with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
        target.execute(sql, params)
        target.commit()
    return copy


def test_cli_replay_finds_a_tampered_snapshot(db, tmp_path):
    with closing(sqlite3.connect(db)) as conn:
        [(stored,)] = conn.execute("SELECT snapshot FROM actors WHERE id = 'd'").fetchall()
    snap = orjson.loads(stored)
    snap["context"]["public"]["log"][0][1] = "bye"  # someone edited the state by hand
    copy = tampered_copy(db, tmp_path, "UPDATE actors SET snapshot = ? WHERE id = 'd'",
                         orjson.dumps(snap, option=orjson.OPT_SORT_KEYS))
    run = run_actorkit("replay", "desk", "d", "--project", PROJECT, "--db", copy)
    assert run.returncode == 1, run.stdout + run.stderr
    verdict, where = run.stdout.splitlines()
    assert verdict.endswith(": DIFFERENT")
    # where, and what each has there (both checksums' first characters said nothing)
    assert where == '  first difference at /context/public/log/0/1: replayed "hi", stored "bye"'
    # the original is untouched and still the same
    assert run_actorkit("replay", "desk", "d", "--project", PROJECT, "--db", db).returncode == 0


def test_cli_replay_of_a_journal_with_a_step_missing_says_where(db, tmp_path):
    copy = tampered_copy(db, tmp_path, "DELETE FROM journal WHERE id = 'd' AND seq = 2")
    run = run_actorkit("replay", "desk", "d", "--project", PROJECT, "--db", copy)
    assert run.returncode == 1
    assert run.stderr.startswith("actorkit replay: replaying step 3 (event NOTE) of desk/d "
                                 "gave step 2"), run.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["desk", "d", "--db", "{tmp}/missing.db"], "actorkit replay: no actor store at "
                                                "{tmp}/missing.db (give --db)"),
    (["desk", "nobody", "--db", "{db}"], "actorkit replay: desk/nobody is not in {db}"),
    (["nope", "d", "--db", "{db}"], "actorkit replay: no chart serves actor type 'nope'"),
    (["desk", "d", "--db", "{tmp}/text.db"], "actorkit replay: cannot open the actor store "
                                             "{tmp}/text.db: file is not a database"),
])
def test_cli_replay_that_cannot_run_exits_2(db, tmp_path, args, message):
    (tmp_path / "text.db").write_text("not a database " * 100)
    fill = {"tmp": tmp_path, "db": db}
    run = run_actorkit("replay", *[a.format(**fill) for a in args], "--project", PROJECT)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.strip() == message.format(**fill)
    assert run.stdout == ""
