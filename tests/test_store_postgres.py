"""The PostgreSQL store on a real server: what several servers on one database, group commit,
migrations and a database that goes away do. (What every store does is in test_store.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import postgres
import pytest
from test_store import _one_loop, commit, event, run, snapshot  # noqa: F401  (a fixture)

from actorkit.store import StepTaken, StoreError
from actorkit.store.pgschema import MIGRATIONS
from actorkit.store.postgres import PostgresStore, redact


@pytest.fixture
def stores(postgres_url: str) -> Iterator[list[PostgresStore]]:
    """Stores opened by a test, all closed after it."""
    opened: list[PostgresStore] = []
    yield opened
    for store in opened:
        run(store.close())


def open_store(stores: list[PostgresStore], url: str, **options: float) -> PostgresStore:
    store = PostgresStore(url, **options)  # type: ignore[arg-type]
    stores.append(store)
    return store


def transactions(store: PostgresStore) -> list[int]:
    """Records how many commits each transaction of ``store`` writes."""
    sizes: list[int] = []
    write = store._write

    async def counted(db: object, writes: list) -> None:  # type: ignore[type-arg]
        sizes.append(len(writes))
        await write(db, writes)  # type: ignore[arg-type]

    store._write = counted  # type: ignore[method-assign]
    return sizes


def test_two_servers_on_one_database_never_journal_two_steps_under_one_number(
        postgres_url, stores):
    async def go() -> None:
        node_a, node_b = open_store(stores, postgres_url), open_store(stores, postgres_url)
        await commit(node_a, [event(0), event(1, "from a")])
        # node b's copy is at step 0: its step 1 is refused, and nothing of it is kept
        with pytest.raises(StepTaken, match="journal of todo/a already has step 1"):
            await node_b.commit("todo", "a", [event(1, "from b")], b'{"b":1}', version=1,
                                seq=1, wake=5.0)
        stored = await node_b.load("todo", "a")
        assert stored is not None and (stored.seq, stored.snapshot) == (1, snapshot(1))
        assert [e.data for e in await node_b.journal("todo", "a")] == [
            {"text": "x"}, {"text": "from a"}]
        assert await node_b.wakes() == []
        # caught up, node b goes on, and now node a is behind
        await commit(node_b, [event(2, "from b")])
        with pytest.raises(StepTaken, match="already has step 2"):
            await commit(node_a, [event(2, "from a")])
        assert [e.seq for e in await node_a.journal("todo", "a")] == [0, 1, 2]

    run(go())


def test_commits_arriving_together_share_a_transaction_and_a_refusal_refuses_only_itself(
        postgres_url, stores):
    async def go() -> None:
        store = open_store(stores, postgres_url)
        await commit(store, [event(0), event(1)], actor="old")
        sizes = transactions(store)
        results = await asyncio.gather(
            *(commit(store, [event(0), event(1)], actor=f"a{i}") for i in range(6)),
            commit(store, [event(2), event(1, "again")], actor="old"),  # 1 is journaled
            return_exceptions=True)
        assert results[:6] == [None] * 6
        assert isinstance(results[6], StepTaken)
        assert "journal of todo/old already has step 1" in str(results[6])
        assert [e.seq for e in await store.journal("todo", "old")] == [0, 1]  # no 2
        assert (await store.load("todo", "old")).seq == 1  # type: ignore[union-attr]
        assert sizes == [7]
        for i in range(6):
            assert [e.seq for e in await store.journal("todo", f"a{i}")] == [0, 1]

    run(go())


def test_a_commit_whose_caller_gives_up_is_written_all_the_same(postgres_url, stores):
    async def go() -> None:
        store = open_store(stores, postgres_url)
        quitter = asyncio.ensure_future(commit(store, [event(0), event(1)], actor="quitter"))
        await asyncio.sleep(0)
        quitter.cancel()
        assert await quitter is None  # the outcome, not CancelledError: it is stored
        assert (await store.load("todo", "quitter")).seq == 1  # type: ignore[union-attr]

    run(go())


def test_servers_starting_together_on_an_empty_database_make_the_tables_once(
        postgres_url, stores):
    async def go() -> None:
        nodes = [open_store(stores, postgres_url) for _ in range(4)]
        await asyncio.gather(*(node.actor_ids("todo") for node in nodes))
        db = await asyncpg.connect(postgres_url)
        try:
            versions = [r[0] for r in await db.fetch("SELECT version FROM actorkit_schema")]
            assert versions == list(range(1, len(MIGRATIONS) + 1))
            # a database a newer actorkit migrated is not written by this one
            await db.execute("INSERT INTO actorkit_schema VALUES (99)")
        finally:
            await db.close()
        newer = open_store(stores, postgres_url)
        with pytest.raises(StoreError, match=r"version 99.*upgrade actorkit"):
            await newer.load("todo", "a")

    run(go())


def test_an_unreachable_database_is_a_store_error_that_keeps_the_password_secret(stores):
    async def go() -> None:
        store = open_store(stores, "postgresql://app:hunter2@127.0.0.1:1/app", wait=2)
        with pytest.raises(StoreError) as caught:
            await commit(store, [event(0)])
        message = str(caught.value)
        assert "hunter2" not in message and "hunter2" not in repr(store)
        assert "postgresql://app:***@127.0.0.1:1/app" in message
        assert "nothing was changed" in message

    run(go())
    assert redact("postgres://u:p@h/db") == "postgres://u:***@h/db"
    assert redact("postgresql://h/db") == "postgresql://h/db"
    with pytest.raises(StoreError, match=r"not a PostgreSQL URL.*postgresql://user"):
        PostgresStore("mysql://u:secret@h/db")


def test_a_database_restarted_under_a_store_fails_commits_cleanly_then_serves_again(
        postgres_url, stores):
    async def go() -> None:
        store = open_store(stores, postgres_url, wait=3)
        await commit(store, [event(0)])
        postgres.stop()
        try:
            with pytest.raises(StoreError,
                               match=r"could not commit todo/a .*may or may not be stored"):
                await commit(store, [event(1)])
            with pytest.raises(StoreError, match="could not load"):
                await store.load("todo", "a")
        finally:
            postgres.start()
        # the same store, without being told: connects again at the next call
        assert (await store.load("todo", "a")).seq == 0  # type: ignore[union-attr]
        await commit(store, [event(1)])
        assert [e.seq for e in await store.journal("todo", "a")] == [0, 1]

    run(go())


def test_a_wake_up_is_claimed_by_one_server_once_its_own_server_let_it_lapse(
        postgres_url, stores):
    async def go() -> None:
        a = open_store(stores, postgres_url, wake_lease=5, wake_poll=1)
        b = open_store(stores, postgres_url, wake_lease=5, wake_poll=1)
        c = open_store(stores, postgres_url, wake_lease=5, wake_poll=1)
        await commit(a, [event(0)], actor="timed", wake=100.0)  # a holds it until 105
        await commit(a, [event(0)], actor="later", wake=500.0)
        assert await b.claim_wakes(99.5) == []  # due soon, but a has it armed
        assert await b.claim_wakes(104.0) == []  # late, but a's lease runs to 105
        claimed = await asyncio.gather(b.claim_wakes(105.0), c.claim_wakes(105.0))
        assert sorted(claimed, key=len) == [[], [(100.0, "todo", "timed")]]  # one of them
        assert await c.claim_wakes(106.0) == []  # b's now, until 111
        assert await c.claim_wakes(111.0) == [(100.0, "todo", "timed")]  # b did not fire it
        # a new wake-up committed is its committer's again
        await commit(b, [event(1)], actor="timed", wake=200.0)
        assert await c.claim_wakes(204.0) == []
        assert await c.claim_wakes(205.0) == [(200.0, "todo", "timed")]

    run(go())


def test_a_server_holding_an_actor_commits_it_alone_until_it_lets_go(postgres_url, stores):
    async def go() -> None:
        a = open_store(stores, postgres_url)
        b = open_store(stores, postgres_url)
        await commit(a, [event(0)])
        async with a.hold("todo", "a"):
            with pytest.raises(StepTaken, match="another server holds todo/a"):
                await commit(b, [event(1, "from b")])
            await commit(a, [event(1, "from a")])  # the holder's own commits are written
            await commit(b, [event(0)], actor="other")  # other actors are not held
            b_holds = b.hold("todo", "a")
            waiting = asyncio.ensure_future(b_holds.__aenter__())
            await asyncio.sleep(0.2)
            assert not waiting.done()  # a second holder waits its turn
        await asyncio.wait_for(waiting, 5)
        await commit(b, [event(2, "from b")])  # b holds it now
        with pytest.raises(StepTaken, match="another server holds"):
            await commit(a, [event(3)])
        await b_holds.__aexit__(None, None, None)
        await commit(a, [event(3, "from a again")])  # let go: anyone commits
        assert [e.data["text"] for e in await a.journal("todo", "a")] == [
            "x", "from a", "from b", "from a again"]

    run(go())


def test_a_hold_whose_connection_the_database_drops_is_a_store_error(postgres_url, stores):
    """The database ends the connection of a hold while it waits (a restart, an
    administrator): the hold fails as the store's error (503 to a client: try again), not as
    a driver error about a connection given back, and the next hold works."""
    async def go() -> None:
        a = open_store(stores, postgres_url)
        b = open_store(stores, postgres_url)
        await commit(a, [event(0)])
        async with b.hold("todo", "a"):
            waiting = asyncio.ensure_future(a.hold("todo", "a").__aenter__())
            admin = await asyncpg.connect(postgres_url)
            try:
                for _ in range(100):  # until a's hold waits on b's, then end its connection
                    if await admin.fetchval(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                            "datname = current_database() AND wait_event_type = 'Lock'"):
                        break
                    await asyncio.sleep(0.02)
            finally:
                await admin.close()
            with pytest.raises(StoreError, match="could not hold todo/a"):
                await asyncio.wait_for(waiting, 5)
        async with a.hold("todo", "a"):  # and the next one holds it
            await commit(a, [event(1, "held")])

    run(go())
