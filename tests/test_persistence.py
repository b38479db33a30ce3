"""Persistence in process: actor systems on a SQLite store (a "restart" is a new system on
the same file) with a fake clock. What comes back after a restart, RESUME, timers that fell
due while down, what the journal holds, a store that fails, passivation, concurrent senders,
charts kept in memory only; and the journal endpoint of a real server."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from servers import Server, serve
from support import ROOT, FakeClock, alice, bob, chart, ops

from actorkit import Caller, Chart, EventRejected, HookError, StepResult, load_chart
from actorkit.journal import replay
from actorkit.runtime import ActorSystem
from actorkit.store import Entry, SqliteStore, Store, Stored, StoreError
from actorkit.store.postgres import PostgresStore

TODO = ROOT / "charts" / "todo.yaml"
DESK = ROOT / "tests" / "journal" / "charts" / "desk.yaml"


@pytest.fixture(scope="module")
def charts() -> dict[str, Chart]:
    loaded = [chart("history"), chart("timers"), chart("lifecycle"), chart("txn"),
              load_chart(TODO), load_chart(DESK)]
    return {c.actor_type: c for c in loaded}


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where the store is: a SQLite file, or a PostgreSQL database's URL."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")  # type: ignore[no-any-return]
    return tmp_path / "actors.db"


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    """A SQLite file, for what only a SQLite store does."""
    return tmp_path / "actors.db"


def open_store(db: Path | str) -> Store:
    """A store on ``db`` (the fixture)."""
    return SqliteStore(db) if isinstance(db, Path) else PostgresStore(db)


async def started(charts: dict[str, Chart], store: Store | Path | str, clock: FakeClock,
                  **options: Any) -> ActorSystem:
    """A started actor system on ``store`` (a path or URL: a store there)."""
    s = ActorSystem(charts, store=open_store(store) if isinstance(store, Path | str) else store,
                    clock=clock, **options)
    await s.start()
    return s


async def eventually(condition: Callable[[], bool | Awaitable[bool]],
                     timeout: float = 5.0) -> None:
    """Let the event loop run (timers, tasks) until ``condition()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        holds = condition()
        if holds if isinstance(holds, bool) else await holds:
            return
        assert loop.time() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.005)


def add_todo(s: ActorSystem, i: int) -> Awaitable[tuple[StepResult, str]]:
    """Client ``c{i}`` adds "todo {i}" to todo/x."""
    return s.send("todo", "x", Caller.client(f"c{i}"), {"type": "ADD_TODO", "text": f"todo {i}"})


async def whole_journal(s: ActorSystem, actor_type: str, actor_id: str) -> list[Entry]:
    return await s.journal(actor_type, actor_id, limit=1000)


async def assert_stored_as_held(s: ActorSystem, store: Store, entries: int) -> None:
    """todo/x's journal has ``entries`` entries, and ``store`` holds the state ``s`` has."""
    assert len(await whole_journal(s, "todo", "x")) == entries
    actor, stored = s.get("todo", "x"), await store.load("todo", "x")
    assert actor is not None and stored is not None
    assert actor.snapshot_json() == stored.snapshot


def stored_public(stored: Stored | None) -> dict[str, Any]:
    assert stored is not None
    return orjson.loads(stored.snapshot)["context"]["public"]  # type: ignore[no-any-return]


# -- restarts ------------------------------------------------------------------------------------

def test_a_restarted_system_has_the_same_views_history_and_timers(charts, db, clock):
    t0 = clock.t

    async def before_restart() -> dict[str, Any]:
        s = await started(charts, db, clock)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "milk"})
        await s.send("todo", "x", alice, {"type": "SET_FILTER", "filter": "active"})
        for event in ("MODE", "SKIP", "PAUSE"):  # mono, verse, then paused: in the history
            await s.send("player", "p", bob, {"type": event})
        await s.send("timers", "t", alice, {"type": "REMIND", "in": 100})
        await s.send("timers", "t", alice, {"type": "OPEN"})  # after(10)
        seen = {"alice": (await s.snapshot("todo", "x", alice)).data,
                "bob": (await s.snapshot("todo", "x", bob)).data,
                "player": s.get("player", "p").snapshot_json(),  # type: ignore[union-attr]
                "timers": s.get("timers", "t").timers,  # type: ignore[union-attr]
                "deadline": s.get("timers", "t").next_deadline}  # type: ignore[union-attr]
        await s.close()
        return seen

    async def after_restart(seen: dict[str, Any]) -> None:
        s = await started(charts, db, clock)
        assert s.active == 0  # restored lazily, when first needed
        assert (await s.snapshot("todo", "x", alice)).data == seen["alice"]
        assert (await s.snapshot("todo", "x", bob)).data == seen["bob"]
        assert seen["alice"]["private"] == {"filter": "active"}  # each caller's own bucket
        assert seen["bob"]["private"] == {"filter": "all"}
        await s.snapshot("player", "p", bob)
        assert s.get("player", "p").snapshot_json() == seen["player"]  # type: ignore[union-attr]
        await s.send("player", "p", bob, {"type": "PLAY"})  # back through the deep history
        assert (await s.snapshot("player", "p", bob)).data["value"] == {
            "on": {"main": {"playing": {"audio": "mono", "deck": {"track": "verse"}}}}}
        await s.snapshot("timers", "t", alice)
        timers = s.get("timers", "t")
        assert timers is not None
        assert timers.timers == seen["timers"] and len(seen["timers"]) == 1
        assert timers.next_deadline == seen["deadline"] == t0 + 10
        clock.t = t0 + 200
        fired = await s.tick("timers", "t")
        assert [(r.type, r.time) for r in fired] == [(None, t0 + 10), ("REMINDER", t0 + 100)]
        await s.close()

    seen = asyncio.run(before_restart())
    clock.t += 5
    asyncio.run(after_restart(seen))


def test_resume_is_sent_once_per_restore(charts, db, clock):
    async def visit(times: int) -> int:
        s = await started(charts, db, clock)
        for _ in range(times):
            view = await s.snapshot("room", "r", alice, input={"topic": "durability"})
        await s.connect("room", "r", bob, lambda frame: None)
        resumed: int = view.data["public"]["resumed"]
        await s.close()
        return resumed

    assert [asyncio.run(visit(times)) for times in (2, 3, 1)] == [0, 1, 2]

    async def check() -> None:
        s = await started(charts, db, clock)
        journal = await whole_journal(s, "room", "r")
        assert [e.type for e in journal if e.kind == "system"] == [
            "CONNECT", "RESUME", "CONNECT", "RESUME", "CONNECT"]
        stored = await s.store.load("room", "r")
        assert stored_public(stored)["topic"] == "durability"
        await s.close()

    asyncio.run(check())


def timer_actor(charts: dict[str, Chart], db: Path, clock: FakeClock,
                reminders: dict[str, float]) -> None:
    """Stored timers actors with a reminder due in ``reminders[id]`` seconds."""
    async def go() -> None:
        s = await started(charts, db, clock)
        for actor_id, delay in reminders.items():
            await s.send("timers", actor_id, alice, {"type": "REMIND", "in": delay})
        await s.close()

    asyncio.run(go())


def test_a_timer_that_fell_due_while_down_fires_when_the_system_starts(charts, db, clock):
    t0 = clock.t
    timer_actor(charts, db, clock, {"t": 10})
    clock.t = t0 + 600  # down for ten minutes

    async def go() -> None:
        s = await started(charts, db, clock)
        frames: list[str] = []
        await s.connect("timers", "t", alice, frames.append)
        fired = s.get("timers", "t").view(alice)["public"]["fired"]  # type: ignore[union-attr]
        assert fired == [["REMINDER", "reminders", t0 + 10]]  # at its own time
        # Fired while the actor was brought back: the first thing a client sees has it.
        assert len(frames) == 1 and '"REMINDER"' in frames[0]
        stored = await s.store.load("timers", "t")
        assert stored_public(stored)["fired"] == fired
        assert await s.store.wakes() == []  # nothing more to wake it for
        await s.close()

    asyncio.run(go())


def test_an_untouched_actor_is_woken_by_its_stored_wake_up_alone(charts, db, clock):
    t0 = clock.t
    timer_actor(charts, db, clock, {"soon": 10, "later": 20, "not-yet": 3600})
    clock.t = t0 + 60

    async def go() -> None:
        s = await started(charts, db, clock)

        async def both_fired() -> bool:
            fired = [stored_public(await s.store.load("timers", i))["fired"]
                     for i in ("soon", "later")]
            return all(fired)

        await eventually(both_fired)
        for actor_id, delay in (("soon", 10), ("later", 20)):
            stored = await s.store.load("timers", actor_id)
            assert stored_public(stored)["fired"][0][::2] == ["REMINDER", t0 + delay]
        assert s.active == 2  # restored by their wake-ups; the third stays in the store
        assert s.get("timers", "not-yet") is None
        assert await s.store.wakes() == [(t0 + 3600, "timers", "not-yet")]
        await s.close()

    asyncio.run(go())


# -- what the journal holds ----------------------------------------------------------------------

def test_only_committed_steps_are_journaled(charts, db, clock):
    async def go() -> None:
        s = await started(charts, db, clock)
        await s.send("txn", "x", alice, {"type": "INC"})
        journal = await whole_journal(s, "txn", "x")
        stored = await s.store.load("txn", "x")
        with pytest.raises(EventRejected):
            await s.send("txn", "x", alice, {"type": "NOPE"})
        with pytest.raises(EventRejected):
            await s.send("txn", "x", alice, {"type": "INC", "by": "two"})
        with pytest.raises(HookError):
            await s.send("txn", "x", alice, {"type": "BOOM"})  # inc, then a hook raises
        assert await whole_journal(s, "txn", "x") == journal
        assert await s.store.load("txn", "x") == stored
        await s.send("txn", "x", ops, {"type": "INC", "by": 2})
        journal = await whole_journal(s, "txn", "x")
        assert [(e.seq, e.kind, e.type, e.data) for e in journal] == [
            (0, "spawn", None, {"input": {}}), (1, "event", "INC", {}),
            (2, "event", "INC", {"by": 2})]
        assert stored_public(await s.store.load("txn", "x"))["count"] == 3

        # a timer due before a failing event is committed; the event is not
        await s.send("desk", "d", alice, {"type": "LATER", "what": "PING", "in": 5})
        clock.t += 10
        with pytest.raises(HookError):
            await s.send("desk", "d", alice, {"type": "FAIL"})
        journal = await whole_journal(s, "desk", "d")
        assert [(e.kind, e.type) for e in journal] == [
            ("spawn", None), ("event", "LATER"), ("timer", "PING")]
        assert [line[0] for line in stored_public(await s.store.load("desk", "d"))["log"]] == [
            "PING"]
        await s.close()

    asyncio.run(go())


class FlakyStore:
    """A store that refuses every commit while :attr:`failing` is set (a full disk, a lost
    database connection); otherwise the store it wraps."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.failing = False

    async def load(self, actor_type: str, actor_id: str) -> Stored | None:
        return await self.inner.load(actor_type, actor_id)

    async def commit(self, actor_type: str, actor_id: str, entries: Sequence[Entry],
                     snapshot: bytes, *, version: int, seq: int, wake: float | None) -> None:
        if self.failing:
            raise StoreError("disk I/O error")
        await self.inner.commit(actor_type, actor_id, entries, snapshot, version=version,
                                seq=seq, wake=wake)

    async def journal(self, actor_type: str, actor_id: str, *, after: int = -1,
                      limit: int = 100) -> list[Entry]:
        return await self.inner.journal(actor_type, actor_id, after=after, limit=limit)

    async def wakes(self) -> list[tuple[float, str, str]]:
        return await self.inner.wakes()

    async def actor_ids(self, actor_type: str, *, after: str = "",
                        limit: int = 100) -> list[str]:
        return await self.inner.actor_ids(actor_type, after=after, limit=limit)

    async def close(self) -> None:
        await self.inner.close()


def test_a_commit_the_store_refuses_leaves_the_actor_as_it_was(charts, db, clock):
    async def go() -> None:
        store = FlakyStore(open_store(db))
        s = await started(charts, store, clock)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "milk"})
        frames: list[str] = []
        await s.connect("todo", "x", bob, frames.append)
        actor = s.get("todo", "x")
        assert actor is not None
        before, view, seq = actor.snapshot_json(), actor.view(alice), actor.seq
        stored, journal = await store.load("todo", "x"), await whole_journal(s, "todo", "x")

        store.failing = True
        with pytest.raises(StoreError, match="disk I/O error"):
            await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "bread"})
        with pytest.raises(StoreError):
            await s.send("todo", "x", ops, {"type": "SYNC_TODOS", "todos": []})
        actor = s.get("todo", "x")
        assert actor is not None
        assert actor.snapshot_json() == before and actor.view(alice) == view
        assert (await s.snapshot("todo", "x", alice)).data == view
        assert len(frames) == 1  # bob was never shown what was not committed
        assert await store.load("todo", "x") == stored
        assert await whole_journal(s, "todo", "x") == journal
        # a new actor the store cannot take is not made at all
        with pytest.raises(StoreError, match="disk I/O error"):
            await s.send("todo", "new", alice, {"type": "ADD_TODO", "text": "x"})
        assert s.get("todo", "new") is None

        store.failing = False
        result, _ = await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "bread"})
        assert result.seq == seq + 1  # no step went missing
        journal = await whole_journal(s, "todo", "x")
        assert [e.seq for e in journal] == list(range(len(journal)))
        stored = await store.load("todo", "x")
        assert [t["text"] for t in stored_public(stored)["todos"]] == ["milk", "bread"]
        assert replay(charts["todo"], "x", journal).snapshot_json() == stored.snapshot  # type: ignore[union-attr]
        assert len(frames) == 2
        await s.send("todo", "new", alice, {"type": "ADD_TODO", "text": "x"})
        await s.close()

    asyncio.run(go())


# -- passivation ---------------------------------------------------------------------------------

def test_an_idle_actor_leaves_memory_and_comes_back_with_resume(charts, db, clock):
    async def go() -> None:
        s = await started(charts, db, clock, idle_after=0.02)
        view = await s.snapshot("room", "r", alice, input={"topic": "idle"})
        await s.connect("todo", "x", alice, lambda frame: None)  # a connection holds it
        assert s.active == 2
        clock.t += 60
        await eventually(lambda: s.active == 1)
        assert s.get("room", "r") is None and s.get("todo", "x") is not None
        back = await s.snapshot("room", "r", alice)
        assert s.active == 2
        assert back.data["public"] == {**view.data["public"], "resumed": 1}
        journal = await whole_journal(s, "room", "r")
        assert [e.type for e in journal][-1] == "RESUME"
        await asyncio.sleep(0.05)
        assert s.active == 2  # just used: it stays
        await s.close()

    asyncio.run(go())


# -- concurrency ---------------------------------------------------------------------------------

class SlowStore(FlakyStore):
    """A store whose reads and writes take a few turns of the event loop, more or fewer each
    time, like one across a network: other tasks run while it works, and a later write could
    overtake an earlier one if the actor system let them run side by side."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.turns = itertools.cycle([5, 0, 3, 1, 4, 2])

    async def load(self, actor_type: str, actor_id: str) -> Stored | None:
        for _ in range(next(self.turns)):
            await asyncio.sleep(0)
        return await super().load(actor_type, actor_id)

    async def commit(self, actor_type: str, actor_id: str, entries: Sequence[Entry],
                     snapshot: bytes, *, version: int, seq: int, wake: float | None) -> None:
        for _ in range(next(self.turns)):
            await asyncio.sleep(0)
        await super().commit(actor_type, actor_id, entries, snapshot, version=version, seq=seq,
                             wake=wake)


def test_concurrent_senders_get_one_serial_journal(charts, db, clock):
    senders = 20

    async def go() -> None:
        s = await started(charts, SlowStore(open_store(db)), clock)

        async def add(i: int) -> int:
            result, _ = await add_todo(s, i)
            return result.seq

        seqs = await asyncio.gather(*(add(i) for i in range(senders)))
        assert sorted(seqs) == list(range(1, senders + 1))
        journal = await whole_journal(s, "todo", "x")
        assert [e.seq for e in journal] == list(range(senders + 1))  # one spawn, no gaps
        assert [e.kind for e in journal].count("spawn") == 1
        stored = await s.store.load("todo", "x")
        texts = [t["text"] for t in stored_public(stored)["todos"]]
        assert sorted(texts) == sorted(f"todo {i}" for i in range(senders))
        assert texts == [e.data["text"] for e in journal[1:]]  # the journal's order
        assert replay(charts["todo"], "x", journal).snapshot_json() == stored.snapshot  # type: ignore[union-attr]
        await s.close()

    asyncio.run(go())


class WatchedStore(SlowStore):
    """A slow store that records, for each commit it has stored, the seqs it held and the
    public context of its snapshot."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.batches: list[list[int]] = []
        self.publics: list[Any] = []

    async def commit(self, actor_type: str, actor_id: str, entries: Sequence[Entry],
                     snapshot: bytes, *, version: int, seq: int, wake: float | None) -> None:
        await super().commit(actor_type, actor_id, entries, snapshot, version=version, seq=seq,
                             wake=wake)
        self.batches.append([e.seq for e in entries])
        self.publics.append(orjson.loads(snapshot)["context"]["public"])


def test_events_that_arrive_together_are_stored_together_and_answered_after(charts, db,
                                                                                 clock):
    senders = 16

    async def go() -> None:
        store = WatchedStore(open_store(db))
        s = await started(charts, store, clock)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "first"})
        reads: list[Any] = []
        answered: list[int] = []

        async def add(i: int) -> None:
            result, _ = await add_todo(s, i)
            # answered only once the batch holding its step is stored
            assert any(result.seq in batch for batch in store.batches)
            answered.append(i)

        async def read() -> None:  # a reader never sees a state that is not stored
            for _ in range(20_000):  # until every sender is answered (a store's commits
                if len(answered) == senders:  # take a few turns or a round trip)
                    break
                view = await s.snapshot("todo", "x", bob)
                reads.append(view.data["public"])
                assert view.data["public"] in store.publics
                await asyncio.sleep(0)

        await asyncio.gather(read(), *(add(i) for i in range(senders)))
        together = [b for b in store.batches if len(b) > 1]
        assert together, store.batches  # group commit: fewer transactions than events
        assert sum(len(b) for b in store.batches) == senders + 2  # spawn, first, the 16
        journal = await whole_journal(s, "todo", "x")
        assert [e.seq for e in journal] == list(range(senders + 2))
        stored = await s.store.load("todo", "x")
        assert replay(charts["todo"], "x", journal).snapshot_json() == stored.snapshot  # type: ignore[union-attr]
        assert len({len(p["todos"]) for p in reads}) > 1  # the reader did see it change
        await s.close()

    asyncio.run(go())


def test_a_busy_actor_keeps_its_batch_open_a_few_turns_for_late_arrivals(charts, db, clock):
    # Events that reach a busy actor one turn of the loop apart (as the requests read from
    # the sockets in successive turns do) still share its transaction.
    async def go() -> None:
        store = WatchedStore(open_store(db))
        s = await started(charts, store, clock)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "first"})
        store.batches.clear()

        async def add(i: int) -> None:
            for _ in range(i):  # arrive i turns after the first
                await asyncio.sleep(0)
            await add_todo(s, i)

        await asyncio.gather(*(add(i) for i in (0, 0, 1, 2, 3)))
        assert [len(b) for b in store.batches] == [5]
        await s.close()

    asyncio.run(go())


def test_a_leader_that_gives_up_while_sqlite_writes_its_batch_leaves_everyone_the_truth(
        charts, sqlite_db, clock):
    # The batch's leader is cancelled while its transaction waits for the end of the turn:
    # the transaction is written all the same, so its company must be answered as stored
    # (not told to send again), and the actor and the store agree.
    async def go() -> None:
        store = SqliteStore(sqlite_db)
        s = await started(charts, store, clock)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "first"})
        sends = [asyncio.ensure_future(add_todo(s, i)) for i in range(3)]
        for _ in range(100):  # until the batch waits for the end of the turn
            if store._queue is not None:
                break
            await asyncio.sleep(0)
        assert store._queue is not None
        sends[0].cancel()
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
        assert not any(isinstance(o, StoreError) for o in outcomes), outcomes
        await assert_stored_as_held(s, store, 5)  # spawn, first and the three
        await s.close()

    asyncio.run(go())


class GatedStore(FlakyStore):
    """A store of the user's own whose commits wait (as across a network) until the test
    opens :attr:`gate`; :attr:`entered` is set once a commit is under way."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.gate, self.entered = asyncio.Event(), asyncio.Event()

    async def commit(self, actor_type: str, actor_id: str, entries: Sequence[Entry],
                     snapshot: bytes, *, version: int, seq: int, wake: float | None) -> None:
        self.entered.set()
        await self.gate.wait()
        await super().commit(actor_type, actor_id, entries, snapshot, version=version, seq=seq,
                             wake=wake)


def test_a_leader_that_gives_up_while_a_store_of_the_users_writes_its_batch_waits_for_it(
        charts, db, clock):
    # The same with a store whose commit really waits: the write the leader started is
    # finished, not abandoned midway, and everyone in the batch is told it is stored.
    async def go() -> None:
        store = GatedStore(open_store(db))
        store.gate.set()
        s = await started(charts, store, clock)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "first"})
        store.gate.clear()
        store.entered.clear()
        sends = [asyncio.ensure_future(add_todo(s, i)) for i in range(3)]
        await asyncio.wait_for(store.entered.wait(), 5)
        sends[0].cancel()
        await asyncio.sleep(0)
        store.gate.set()
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
        assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
        assert sorted(r.seq for r, _ in outcomes) == [2, 3, 4]  # type: ignore[union-attr]
        await assert_stored_as_held(s, store, 5)  # spawn, first and the three
        await s.close()

    asyncio.run(go())


def test_a_refused_batch_fails_every_sender_in_it_and_changes_nothing(charts, db, clock):
    async def go() -> None:
        store = FlakyStore(open_store(db))
        s = await started(charts, store, clock)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "milk"})
        actor = s.get("todo", "x")
        assert actor is not None
        before, journal = actor.snapshot_json(), await whole_journal(s, "todo", "x")

        store.failing = True
        outcomes = await asyncio.gather(*(add_todo(s, i) for i in range(5)), return_exceptions=True)
        assert all(isinstance(o, StoreError) for o in outcomes), outcomes
        actor = s.get("todo", "x")
        assert actor is not None and actor.snapshot_json() == before
        assert await whole_journal(s, "todo", "x") == journal

        store.failing = False
        results = await asyncio.gather(*(add_todo(s, i) for i in range(5)))
        assert sorted(r.seq for r, _ in results) == list(range(2, 7))
        await s.close()

    asyncio.run(go())


def test_a_sender_that_gives_up_does_not_leave_the_others_waiting(charts, db, clock):
    async def go() -> None:
        s = await started(charts, open_store(db), clock)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "milk"})
        first = asyncio.create_task(s.send("todo", "x", alice, {"type": "ADD_TODO",
                                                                "text": "gives up"}))
        second = asyncio.create_task(s.send("todo", "x", bob, {"type": "ADD_TODO",
                                                               "text": "waits"}))
        await asyncio.sleep(0)  # both have run their step; the first leads their batch
        first.cancel()
        result, _ = await asyncio.wait_for(second, 5)
        assert first.cancelled()
        journal = await whole_journal(s, "todo", "x")
        # the step of the one that gave up was taken, so it is stored, before the other's
        assert [e.data["text"] for e in journal[1:]] == ["milk", "gives up", "waits"]
        assert result.seq == 3
        await s.close()

    asyncio.run(go())


# -- persisted: false ----------------------------------------------------------------------------

def test_a_chart_that_is_not_persisted_lives_in_memory_only(charts, sqlite_db, clock,
                                                             tmp_path):
    db = sqlite_db
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "switch.yaml").write_text("client:\n  FLIP: {}\n")
    (tmp_path / "switch.yaml").write_text(
        "actor: switch\npersisted: false\nschemas: schemas/switch.yaml\n"
        "statechart:\n  name: switch\n  root state:\n    name: root\n    initial: a\n"
        "    states:\n      - {name: a, transitions: [{event: FLIP, target: b}]}\n"
        "      - {name: b, transitions: [{event: FLIP, target: a}]}\n")
    both = {"switch": load_chart(tmp_path / "switch.yaml"), "todo": charts["todo"]}

    async def first() -> None:
        s = await started(both, db, clock)
        await s.send("switch", "s", alice, {"type": "FLIP"})
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "milk"})
        assert (await s.snapshot("switch", "s", alice)).data["value"] == "b"
        assert await s.store.load("switch", "s") is None
        kept = await s.memory.load("switch", "s")
        assert kept is not None and kept.seq == 1
        assert await s.journal("switch", "s") == []  # no journal for charts in memory
        await s.close()

    async def second() -> None:
        s = await started(both, db, clock)
        assert (await s.snapshot("switch", "s", alice)).data["value"] == "a"  # made anew
        assert (await s.snapshot("todo", "x", alice)).data["public"]["todos"][0]["text"] == \
            "milk"
        await s.close()

    asyncio.run(first())
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT DISTINCT type FROM actors").fetchall() == [("todo",)]
        assert conn.execute("SELECT DISTINCT type FROM journal").fetchall() == [("todo",)]
    asyncio.run(second())


# -- the journal endpoint ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server() -> Any:
    with serve(ROOT) as running:
        yield running


def events(server: Server, actor: str, caller: str = "service:audit", *,
           token: str | None = None, **params: Any) -> httpx.Response:
    kind, actor_id = actor.split("/")
    token = token if token is not None else server.token(kind, actor_id, caller)
    return httpx.get(f"{server.url}/api/{actor}/events", params=params,
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_services_read_the_journal_in_seq_order_page_by_page(server):
    texts = ["milk", "bread", "eggs"]
    for text in texts:
        token = server.token("todo", "jx", "client:alice")
        r = httpx.post(f"{server.url}/api/todo/jx", json={"type": "ADD_TODO", "text": text},
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200, r.text

    r = events(server, "todo/jx")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [e["seq"] for e in body["events"]] == [0, 1, 2, 3]
    assert body["next"] == 3
    spawn, first = body["events"][:2]
    assert (spawn["kind"], spawn["type"], spawn["caller"]) == (
        "spawn", None, {"type": "client", "id": "alice"})
    assert set(first) == {"seq", "time", "kind", "caller", "type", "data", "error"}
    assert (first["kind"], first["type"], first["data"], first["error"]) == (
        "event", "ADD_TODO", {"text": "milk"}, None)
    assert [e["data"]["text"] for e in body["events"][1:]] == texts

    page = events(server, "todo/jx", after=0, limit=2).json()
    assert ([e["seq"] for e in page["events"]], page["next"]) == ([1, 2], 2)
    page = events(server, "todo/jx", after=page["next"], limit=2).json()
    assert ([e["seq"] for e in page["events"]], page["next"]) == ([3], 3)
    assert events(server, "todo/jx", after=3).json() == {"events": [], "next": None}
    assert events(server, "todo/nobody").json() == {"events": [], "next": None}


def test_the_journal_is_refused_to_clients_and_bad_tokens(server):
    r = events(server, "todo/jx", "client:alice")
    assert r.status_code == 403
    assert "service" in r.json()["error"]
    assert events(server, "todo/jx", token="not-a-token").status_code == 401
    other = server.token("todo", "another", "service:audit")  # a token for another actor
    assert events(server, "todo/jx", token=other).status_code == 401


AFTER = "Invalid after: a whole number of at least -1 and at most 18 digits, in digits 0-9"
LIMIT = "Invalid limit: a whole number from 1 to 1000, in digits 0-9"


@pytest.mark.parametrize(("params", "error"), [
    ({"after": "abc"}, AFTER),
    ({"after": "-2"}, AFTER),
    ({"limit": "0"}, LIMIT),
    ({"limit": "1001"}, LIMIT),
    ({"limit": "1.5"}, LIMIT),
])
def test_bad_journal_paging_is_a_400(server, params, error):
    r = events(server, "todo/jx", **params)
    assert r.status_code == 400
    assert r.json() == {"error": error}


def test_an_actor_waiting_for_its_lock_is_not_put_away(charts, db, clock):
    async def go() -> None:
        s = await started(charts, db, clock, idle_after=3600)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "one"})
        cell = await s.cell("todo", "x", alice)
        assert cell is not None and cell.idle
        first = cell.hold()
        await first.__aenter__()
        second = asyncio.ensure_future(
            s.send("todo", "x", bob, {"type": "ADD_TODO", "text": "two"}))
        await asyncio.sleep(0)  # the second sender now waits for the lock
        clock.t += 7200
        await first.__aexit__(None, None, None)
        # The lock is free but its next holder has not run yet: still not idle.
        assert not cell.idle
        s._sweep()
        assert s.get("todo", "x") is cell.actor
        await second
        assert [t["text"] for t in cell.actor.view(alice)["public"]["todos"]] == ["one", "two"]
        await s.close()

    asyncio.run(go())


def resumable(tmp_path: Path, name: str, resume_body: str) -> Chart:
    """A `phoenix` chart counting its RESUMEs, with the RESUME hook ``resume_body``."""
    folder = tmp_path / name
    (folder / "hooks").mkdir(parents=True)
    (folder / "schemas").mkdir()
    (folder / "schemas" / "phoenix.yaml").write_text("client:\n  POKE: {}\n")
    (folder / "hooks" / "phoenix.py").write_text(
        f"def resume(ctx, event):\n    {resume_body}\n"
        "def poke(ctx, event):\n    ctx.public['pokes'] += 1\n")
    (folder / "phoenix.yaml").write_text(
        "actor: phoenix\nhooks: hooks.phoenix\nschemas: schemas/phoenix.yaml\n"
        "context:\n  public: {pokes: 0, resumed: 0}\nstatechart:\n  name: phoenix\n"
        "  root state:\n    name: root\n    transitions:\n"
        "      - {event: RESUME, action: resume}\n      - {event: POKE, action: poke}\n")
    return load_chart(folder / "phoenix.yaml")


def test_a_failing_resume_brings_nothing_back_and_changes_nothing(tmp_path, db, clock):
    good = resumable(tmp_path, "good", "ctx.public['resumed'] += 1")
    bad = resumable(tmp_path, "bad", "raise RuntimeError('the cache is gone')")

    async def first() -> bytes:
        s = await started({"phoenix": good}, db, clock)
        await s.send("phoenix", "p", alice, {"type": "POKE"})
        stored = await s.store.load("phoenix", "p")
        await s.close()
        assert stored is not None
        return stored.snapshot

    before = asyncio.run(first())

    async def broken() -> None:
        s = await started({"phoenix": bad}, db, clock)
        for _ in range(2):  # every touch tries again, from the stored actor
            with pytest.raises(HookError, match=r"phoenix/p could not be brought back: its "
                                                r"RESUME step failed: .*the cache is gone"):
                await s.send("phoenix", "p", alice, {"type": "POKE"})
            assert s.get("phoenix", "p") is None
        stored = await s.store.load("phoenix", "p")
        assert stored is not None and stored.snapshot == before
        assert [e.type for e in await whole_journal(s, "phoenix", "p")] == [None, "POKE"]
        await s.close()

    asyncio.run(broken())

    async def fixed() -> None:
        s = await started({"phoenix": good}, db, clock)
        view = await s.snapshot("phoenix", "p", alice)
        assert view.data["public"] == {"pokes": 1, "resumed": 1}
        await s.close()

    asyncio.run(fixed())


def test_a_connection_whose_connect_the_store_refuses_is_not_made(charts, db, clock):
    async def go() -> None:
        flaky = FlakyStore(open_store(db))
        s = await started(charts, flaky, clock)
        await s.snapshot("room", "r", alice, input={"topic": "refused"})
        flaky.failing = True
        with pytest.raises(StoreError):
            await s.connect("room", "r", bob, lambda frame: None)
        cell = await s.cell("room", "r", None)
        assert cell is not None and not cell.connections and not cell.callers
        flaky.failing = False
        await s.connect("room", "r", bob, lambda frame: None)  # the next try sends CONNECT
        journal = await whole_journal(s, "room", "r")
        assert [e.type for e in journal if e.kind == "system"] == ["CONNECT"]
        await s.close()

    asyncio.run(go())


def test_an_actor_freed_from_memory_leaves_no_garbage_cycle(charts, db, clock):
    import gc

    async def go() -> None:
        s = await started(charts, db, clock, idle_after=0.02)
        await s.send("todo", "x", alice, {"type": "ADD_TODO", "text": "one"})
        await s.connect("todo", "y", alice, lambda frame: None)  # stays: a control
        gc.collect()
        gc.disable()  # what is put away must go by reference counting alone
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            clock.t += 60
            await eventually(lambda: s.active == 1)
            gc.collect()
            left = {type(o).__name__ for o in gc.garbage} & {
                "Actor", "ActorInterpreter", "HookEvaluator", "Cell", "Views", "View"}
            assert left == set()
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
        await s.close()

    asyncio.run(go())
