"""Stores, both of them (in memory and SQLite): commits and loads, journal paging, atomic
refusal of a step already journaled, wake-ups, and (SQLite) persistence and opening."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from support import alice, ops

from actorkit import Caller
from actorkit.store import (
    Entry,
    MemoryStore,
    SqliteStore,
    StepTaken,
    Store,
    Stored,
    StoreError,
)
from actorkit.store.postgres import PostgresStore

T = TypeVar("T")
SYSTEM = Caller.system("a")


_runner: asyncio.Runner | None = None


@pytest.fixture(autouse=True)
def _one_loop() -> Iterator[None]:
    """One event loop for a whole test, as a server has (a PostgreSQL store's connections
    belong to the loop that opened them)."""
    global _runner
    with asyncio.Runner() as runner:
        _runner = runner
        yield
    _runner = None


def run(coro: Coroutine[Any, Any, T]) -> T:
    assert _runner is not None
    return _runner.run(coro)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens the store under test (SQLite: the same file each time; PostgreSQL: the same
    database), closing them after."""
    opened: list[Store] = []
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""

    def make() -> Store:
        store: Store
        if request.param == "memory":
            store = MemoryStore()
        elif request.param == "sqlite":
            store = SqliteStore(tmp_path / "actors.db")
        else:
            store = PostgresStore(url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        run(store.close())


def event(seq: int, text: str = "x", *, at: float = 0.0) -> Entry:
    return Entry(seq, 1000.0 + seq + at, "event", alice, "ADD", {"text": text})


def snapshot(n: int) -> bytes:
    return b'{"n":%d}' % n


async def commit(store: Store, entries: list[Entry], *, actor: str = "a",
                 wake: float | None = None, version: int = 1) -> None:
    last = entries[-1].seq
    await store.commit("todo", actor, entries, snapshot(last), version=version, seq=last,
                       wake=wake)


def test_commit_then_load_gives_the_last_snapshot(make_store):
    async def go() -> None:
        store = make_store()
        assert await store.load("todo", "a") is None
        spawn = Entry(0, 1000.0, "spawn", alice, None, {"input": {"topic": "t"}})
        await store.commit("todo", "a", [spawn], b'{"first":1}', version=1, seq=0, wake=None)
        assert await store.load("todo", "a") == Stored("todo", "a", 1, 0, b'{"first":1}')
        await store.commit("todo", "a", [event(1), event(2)], b'{"later":2}', version=3, seq=2,
                           wake=None)
        assert await store.load("todo", "a") == Stored("todo", "a", 3, 2, b'{"later":2}')
        # other actors, of the same type or another, are separate
        assert await store.load("todo", "b") is None
        assert await store.load("notes", "a") is None

    run(go())


def test_journal_entries_come_back_as_committed_and_page_by_seq(make_store):
    async def go() -> None:
        store = make_store()
        written = [
            Entry(0, 1000.0, "spawn", alice, None, {"input": None}),
            Entry(1, 1000.5, "event", ops, "SYNC", {"todos": [{"id": "1"}], "n": 1.5}),
            Entry(2, 1001.0, "system", SYSTEM, "CONNECT",
                  {"connectingCaller": alice.to_json()}),
            Entry(3, 1002.0, "timer", SYSTEM, None, None, "HookError: it broke"),
            Entry(4, 1003.0, "migrate", SYSTEM, None, {"fromVersion": 1, "toVersion": 2}),
        ]
        await commit(store, written[:1])
        await commit(store, written[1:4])
        await commit(store, written[4:])
        for i in range(5, 10):
            await commit(store, [event(i, f"t{i}")])
        await commit(store, [event(0)], actor="other")

        everything = await store.journal("todo", "a", limit=1000)
        assert everything[:5] == written
        assert [e.seq for e in everything] == list(range(10))
        assert await store.journal("todo", "a") == everything  # default: after -1, 100 of them
        pages = [await store.journal("todo", "a", after=after, limit=4)
                 for after in (-1, 3, 7, 9)]
        assert [[e.seq for e in page] for page in pages] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9],
                                                             []]
        assert [e.seq for e in await store.journal("todo", "a", after=2, limit=1)] == [3]
        assert [e.data for e in await store.journal("todo", "other")] == [{"text": "x"}]
        assert await store.journal("todo", "nobody") == []
        assert written[3].to_json() == {
            "seq": 3, "time": 1002.0, "kind": "timer", "caller": {"type": "system", "id": "a"},
            "type": None, "data": None, "error": "HookError: it broke"}

    run(go())


def test_journal_pages_are_bounded_in_bytes_and_hold_at_least_one_entry(make_store):
    async def go() -> None:
        store = make_store()
        sizes = [100, 3000, 100, 100, 9000, 100]  # bytes of text in each entry
        await commit(store, [event(i, "x" * n) for i, n in enumerate(sizes)])
        pages, after = [], -1
        for _ in range(10):  # walk them as a client does, each page's last seq the next after
            found = await store.journal("todo", "a", after=after, max_bytes=4000)
            if not found:
                break
            pages.append([e.seq for e in found])
            assert sum(e.page_bytes() for e in found) <= 4000 or len(found) == 1
            after = found[-1].seq
        assert pages == [[0, 1, 2], [3], [4], [5]]  # entry 4 is past the page on its own
        assert [e.seq for e in await store.journal("todo", "a", max_bytes=1)] == [0]
        assert len(await store.journal("todo", "a", limit=3, max_bytes=10**9)) == 3

    run(go())


def test_an_entrys_page_bytes_are_at_least_its_json():
    for entry in (event(123456789, "x" * 100), Entry(7, 1e9 + 0.123456, "timer", SYSTEM, None,
                                                      None, "HookError: " + "é" * 50)):
        assert entry.page_bytes() >= len(orjson.dumps(entry.to_json())) + 20  # and a comma


def test_a_commit_of_a_step_already_journaled_is_refused_and_changes_nothing(make_store):
    async def go() -> None:
        store = make_store()
        await commit(store, [event(0, "first")], wake=50.0)
        await commit(store, [event(1, "second"), event(2, "third")], wake=60.0)
        before = (await store.load("todo", "a"), await store.journal("todo", "a"),
                  await store.wakes())

        for stale, step in (([event(2, "again"), event(3, "new")], 2), ([event(0, "again")], 0),
                            ([event(3, "new"), event(4, "new"), event(1, "again")], 1)):
            with pytest.raises(StoreError, match=rf"journal of todo/a already has step {step}\b"):
                await store.commit("todo", "a", stale, b'{"lost":true}', version=2,
                                   seq=stale[-1].seq, wake=None)
            after = (await store.load("todo", "a"), await store.journal("todo", "a"),
                     await store.wakes())
            assert after == before  # no snapshot, no entry, no wake-up of the refused commit

        # and the store still takes the next step
        await commit(store, [event(3, "fourth")])
        assert [e.data["text"] for e in await store.journal("todo", "a")] == [
            "first", "second", "third", "fourth"]
        assert (await store.load("todo", "a")).snapshot == snapshot(3)  # type: ignore[union-attr]

    run(go())


def test_wakes_lists_due_actors_soonest_first_and_a_commit_without_wake_removes_it(
        make_store):
    async def go() -> None:
        store = make_store()
        assert await store.wakes() == []
        await commit(store, [event(0)], actor="late", wake=300.0)
        await commit(store, [event(0)], actor="never")
        await commit(store, [event(0)], actor="soon", wake=100.0)
        await commit(store, [event(0)], actor="tie-b", wake=200.0)
        await commit(store, [event(0)], actor="tie-a", wake=200.0)
        assert await store.wakes() == [(100.0, "todo", "soon"), (200.0, "todo", "tie-a"),
                                       (200.0, "todo", "tie-b"), (300.0, "todo", "late")]
        await commit(store, [event(1)], actor="soon")  # its timer fired: nothing pending
        await commit(store, [event(1)], actor="late", wake=50.0)  # rescheduled, earlier
        assert await store.wakes() == [(50.0, "todo", "late"), (200.0, "todo", "tie-a"),
                                       (200.0, "todo", "tie-b")]

    run(go())


def test_a_memory_store_without_journal_keeps_only_the_snapshot():
    async def go() -> None:
        store = MemoryStore(journal=False)
        await commit(store, [event(0)])
        await commit(store, [event(1)], wake=5.0)
        assert await store.load("todo", "a") == Stored("todo", "a", 1, 1, snapshot(1))
        assert await store.journal("todo", "a") == []
        assert await store.wakes() == [(5.0, "todo", "a")]

    run(go())


# -- SQLite only ---------------------------------------------------------------------------------

def test_sqlite_keeps_everything_across_reopening_the_file(tmp_path):
    db = tmp_path / "deep" / "er" / "actors.db"  # folders are made

    async def go() -> None:
        store = SqliteStore(db)
        await commit(store, [Entry(0, 1.0, "spawn", alice, None, {"input": {"a": [1]}})])
        await commit(store, [event(1, "kept")], wake=77.5, version=4)
        await store.close()

        again = SqliteStore(db)
        try:
            assert await again.load("todo", "a") == Stored("todo", "a", 4, 1, snapshot(1))
            assert [(e.kind, e.data) for e in await again.journal("todo", "a")] == [
                ("spawn", {"input": {"a": [1]}}), ("event", {"text": "kept"})]
            assert await again.wakes() == [(77.5, "todo", "a")]
            with pytest.raises(StoreError, match="already has step 1"):
                await commit(again, [event(1, "dup")])
        finally:
            await again.close()

    run(go())
    with closing(sqlite3.connect(db)) as other:  # the write-ahead log, as documented
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize(("durability", "synchronous"), [("process", 1), ("power", 2)])
def test_durability_sets_how_often_sqlite_syncs(tmp_path, durability, synchronous):
    async def go() -> None:
        store = SqliteStore(tmp_path / "actors.db", durability=durability)
        try:
            await commit(store, [event(0)], wake=1.0)
            assert (await store.load("todo", "a")).seq == 0  # type: ignore[union-attr]
            # NORMAL (1): a commit survives the process dying; FULL (2): an fsync per commit
            assert store._db.execute("PRAGMA synchronous").fetchone() == (synchronous,)
        finally:
            await store.close()

    run(go())


def test_a_bad_durability_is_refused(tmp_path):
    with pytest.raises(ValueError, match="durability is 'process' or 'power', not 'disk'"):
        SqliteStore(tmp_path / "actors.db", durability="disk")  # type: ignore[arg-type]
    assert not (tmp_path / "actors.db").exists()


@pytest.mark.parametrize("make", [
    pytest.param(lambda tmp: (tmp / "file").write_text("x") and tmp / "file" / "actors.db",
                 id="under-a-file"),
    pytest.param(lambda tmp: (tmp / "folder").mkdir() or tmp / "folder", id="a-folder"),
    pytest.param(lambda tmp: (tmp / "notes.db").write_bytes(b"not SQLite " * 100)
                 and tmp / "notes.db", id="not-a-database"),
])
def test_an_unopenable_path_is_a_store_error_naming_it(tmp_path, make):
    path = make(tmp_path)
    where = re.escape(str(path))
    with pytest.raises(StoreError, match=rf"^cannot open the actor store {where}: \S"):
        SqliteStore(path)


def test_actor_ids_lists_the_stored_actors_of_a_type_page_by_page(make_store):
    async def go() -> None:
        store = make_store()
        for actor in ("b", "a", "c", "é", "a-2", "B"):
            await commit(store, [event(0)], actor=actor)
        await store.commit("notes", "z", [event(0)], snapshot(0), version=1, seq=0, wake=None)
        # in the order of their bytes, whatever the locale
        assert await store.actor_ids("todo") == ["B", "a", "a-2", "b", "c", "é"]
        assert await store.actor_ids("todo", limit=2) == ["B", "a"]
        assert await store.actor_ids("todo", after="a-2", limit=2) == ["b", "c"]
        assert await store.actor_ids("todo", after="c") == ["é"]
        assert await store.actor_ids("todo", after="é") == []
        assert await store.actor_ids("notes") == ["z"]
        assert await store.actor_ids("nobody") == []

    run(go())


# -- SQLite: one transaction for the commits of many actors ------------------------------------

def transactions(store: SqliteStore) -> list[str]:
    """Records each transaction SQLite begins on ``store``'s connection."""
    begun: list[str] = []
    store._db.set_trace_callback(lambda sql: begun.append(sql) if sql.startswith("BEGIN")
                                 else None)
    return begun


def test_commits_of_many_actors_in_one_turn_share_one_transaction(tmp_path):
    async def go() -> None:
        store = SqliteStore(tmp_path / "actors.db")
        begun = transactions(store)
        await asyncio.gather(*(commit(store, [event(0), event(1)], actor=f"a{i}")
                               for i in range(6)))
        assert len(begun) == 1
        for i in range(6):
            stored = await store.load("todo", f"a{i}")
            assert stored is not None and stored.seq == 1
            assert [e.seq for e in await store.journal("todo", f"a{i}")] == [0, 1]
        await store.close()

    run(go())


def test_a_refused_commit_in_a_shared_transaction_refuses_only_itself(tmp_path):
    async def go() -> None:
        store = SqliteStore(tmp_path / "actors.db")
        await commit(store, [event(0), event(1)], actor="old")
        begun = transactions(store)
        results = await asyncio.gather(
            commit(store, [event(0)], actor="before"),
            commit(store, [event(2), event(1, "again")], actor="old"),  # 1 is journaled
            commit(store, [event(0)], actor="after"), return_exceptions=True)
        assert len(begun) == 1
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], StoreError)
        assert "journal of todo/old already has step 1" in str(results[1])
        assert [e.seq for e in await store.journal("todo", "old")] == [0, 1]  # no 2
        assert (await store.load("todo", "old")).seq == 1  # type: ignore[union-attr]
        for actor in ("before", "after"):
            assert (await store.load("todo", actor)) is not None
        await store.close()

    run(go())


def test_a_commit_whose_caller_gives_up_is_written_all_the_same_and_says_so(tmp_path):
    async def go() -> None:
        store = SqliteStore(tmp_path / "actors.db")
        await commit(store, [event(0)], actor="refused")
        other = asyncio.ensure_future(commit(store, [event(0)], actor="other"))
        quitter = asyncio.ensure_future(commit(store, [event(0), event(1)], actor="quitter"))
        refused = asyncio.ensure_future(commit(store, [event(0)], actor="refused"))
        await asyncio.sleep(0)  # all wait for this turn's transaction
        quitter.cancel()
        refused.cancel()
        await other
        assert await quitter is None  # the outcome, not CancelledError: it is stored
        assert not quitter.cancelled()
        with pytest.raises(StoreError, match="already has step 0"):
            await refused  # the outcome: refused
        assert (await store.load("todo", "quitter")).seq == 1  # type: ignore[union-attr]
        await store.close()

    run(go())


def test_after_a_lone_committer_commits_share_transactions_again_when_company_comes(
        tmp_path):
    async def go() -> None:
        store = SqliteStore(tmp_path / "actors.db")
        for seq in range(40):  # one actor, one commit at a time: written as they come
            await commit(store, [event(seq)], actor="lone")
        begun = transactions(store)
        shared_in = None
        for round_ in range(5):  # ten at once: one of them looks for company and finds it
            begun.clear()
            await asyncio.gather(*(commit(store, [event(round_)], actor=f"b{i}")
                                   for i in range(10)))
            if len(begun) == 1:
                shared_in = round_
                break
        assert shared_in is not None and shared_in <= 2
        assert [e.seq for e in await store.journal("todo", "lone")] == list(range(40))
        assert [e.seq for e in await store.journal("todo", "b9")] == list(range(shared_in + 1))
        await store.close()

    run(go())


# -- SQLite: one store per file, the file under it, another process's write lock -----------------

def test_a_second_store_on_a_file_is_refused_until_the_first_closes(tmp_path):
    db = tmp_path / "actors.db"

    async def go() -> None:
        first = SqliteStore(db)
        with pytest.raises(StoreError, match=rf"^the actor store {re.escape(str(db))} is in use "
                                             rf"by another actorkit server \(process "
                                             rf"{os.getpid()}\): stop it first"):
            SqliteStore(db)
        reader = SqliteStore(db, lock=False)  # beside it, to read (actorkit replay)
        await commit(first, [event(0)])
        assert (await reader.load("todo", "a")).seq == 0  # type: ignore[union-attr]
        await reader.close()
        await first.close()
        await SqliteStore(db).close()

    run(go())


def test_a_process_that_dies_holding_a_store_leaves_no_lock(tmp_path):
    db = tmp_path / "actors.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom actorkit.store import SqliteStore\n"
         "s = SqliteStore(sys.argv[1])\nprint('open', flush=True)\ntime.sleep(60)\n", str(db)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match=f"in use by another actorkit server "
                                             f"\\(process {holder.pid}\\)"):
            SqliteStore(db)
    finally:
        holder.kill()
        holder.communicate(timeout=10)
    run(SqliteStore(db).close())


@pytest.mark.parametrize("how", ["deleted", "replaced", "log-deleted"])
def test_a_file_deleted_or_replaced_under_a_store_refuses_every_commit_after(tmp_path, how,
                                                                           caplog):
    db = tmp_path / "actors.db"

    async def go() -> None:
        store = SqliteStore(db)
        try:
            await commit(store, [event(0)])
            if how == "deleted":
                db.unlink()
            elif how == "replaced":
                (tmp_path / "copy.db").write_bytes(db.read_bytes())
                (tmp_path / "copy.db").replace(db)
            else:
                (tmp_path / "actors.db-wal").unlink()
            for seq in (1, 2):  # the commit that notices, and every one after
                with pytest.raises(StoreError, match=r"deleted or replaced while the server "
                                                     r"was running: .* start it again"):
                    await commit(store, [event(seq)])
            with pytest.raises(StoreError, match="deleted or replaced"):
                await store.load("todo", "a")
        finally:
            await store.close()

    run(go())
    said = [r for r in caplog.records if "deleted or replaced" in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == "ERROR"


class Ticker:
    """Counts turns of the event loop every 10 ms: it stops counting if the loop is blocked."""

    def __init__(self) -> None:
        self.ticks = 0
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1


def test_a_commit_waits_for_another_process_lock_off_the_loop(tmp_path):
    db = tmp_path / "actors.db"

    async def go() -> None:
        store = SqliteStore(db)
        for seq in range(10):  # alone long enough to write in place, without a loop turn
            await commit(store, [event(seq)])
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        ticker = Ticker()
        waiting = asyncio.ensure_future(commit(store, [event(10)]))
        joining = asyncio.ensure_future(commit(store, [event(0)], actor="b"))
        await asyncio.sleep(0.3)
        assert not waiting.done() and not joining.done()
        assert ticker.ticks >= 10  # the loop went on meanwhile
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(asyncio.gather(waiting, joining), 5)
        assert (await store.load("todo", "a")).seq == 10  # type: ignore[union-attr]
        assert (await store.load("todo", "b")).seq == 0  # type: ignore[union-attr]
        ticker.task.cancel()
        await store.close()

    run(go())


def test_a_commit_that_waits_too_long_for_another_process_is_refused(tmp_path):
    db = tmp_path / "actors.db"

    async def go() -> None:
        store = SqliteStore(db, wait=0.3)
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        ticker = Ticker()
        started = time.monotonic()
        outcomes = await asyncio.gather(commit(store, [event(0)]),
                                        commit(store, [event(0)], actor="b"),
                                        return_exceptions=True)
        assert 0.3 <= time.monotonic() - started < 3
        assert ticker.ticks >= 10
        for outcome in outcomes:
            assert isinstance(outcome, StoreError)
            assert "stayed locked by another process for 0.3 s" in str(outcome)
            assert "was not committed" in str(outcome)
        other.execute("ROLLBACK")
        other.close()
        assert await store.load("todo", "a") is None
        await commit(store, [event(0)])  # and the next one gets through
        ticker.task.cancel()
        await store.close()

    run(go())


def test_a_step_already_journaled_is_refused_as_taken(make_store):
    async def go() -> None:
        store = make_store()
        await commit(store, [event(0), event(1)])
        with pytest.raises(StepTaken, match="already has step 1"):
            await commit(store, [event(1)])

    run(go())
