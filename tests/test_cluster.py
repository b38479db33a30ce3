"""Several actor systems (as several servers would) on one PostgreSQL database: one order of
steps per actor, a stale copy catching up before it answers, no actor made twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from support import ROOT, FakeClock, alice, bob

from actorkit import Caller, load_chart
from actorkit.journal import replay
from actorkit.runtime import ActorSystem
from actorkit.store import PostgresStore

TODO = load_chart(ROOT / "charts" / "todo.yaml")


async def node(url: str, clock: FakeClock) -> ActorSystem:
    s = ActorSystem({"todo": TODO}, store=PostgresStore(url), clock=clock)
    await s.start()
    return s


def add(s: ActorSystem, actor: str, text: str, caller: Caller = alice) -> Any:
    return s.send("todo", actor, caller, {"type": "ADD_TODO", "text": text})


async def texts(s: ActorSystem, actor: str) -> list[str]:
    return [t["text"] for t in (await s.snapshot("todo", actor, bob)).data["public"]["todos"]]


async def assert_journal_replays_to_stored(s: ActorSystem, actor: str, steps: int) -> None:
    journal = await s.journal("todo", actor, limit=1000)
    assert [e.seq for e in journal] == list(range(steps))
    stored = await s.store.load("todo", actor)
    assert stored is not None
    assert replay(TODO, actor, journal).snapshot_json() == stored.snapshot


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the event loop run until ``condition()`` holds (a commit told between servers
    takes a round trip or two)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.01)


def test_a_node_whose_copy_is_stale_catches_up_and_runs_the_event_on_the_stored_state(
        postgres_url, clock):
    async def go() -> None:
        a, b = await node(postgres_url, clock), await node(postgres_url, clock)
        try:
            await add(a, "x", "from a")
            assert await texts(b, "x") == ["from a"]  # b holds x now
            await add(a, "x", "again from a")  # b's copy is behind
            result, _ = await add(b, "x", "from b")
            assert result.seq == 3  # after a's two steps, not beside them
            assert await texts(b, "x") == ["from a", "again from a", "from b"]
            await assert_journal_replays_to_stored(a, "x", 4)
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())


def test_nodes_sending_to_one_actor_at_once_get_one_journal_and_every_event_in_it(
        postgres_url, clock):
    async def go() -> None:
        nodes = [await node(postgres_url, clock) for _ in range(3)]
        try:
            # the actor does not exist yet: each node makes it, once
            await asyncio.gather(*(add(nodes[i % 3], "hot", f"t{i}") for i in range(30)))
            last = nodes[0]
            await assert_journal_replays_to_stored(last, "hot", 31)  # one spawn, 30 events
            everything = sorted(f"t{i}" for i in range(30))
            for s in nodes:  # each node shows it as stored
                assert sorted(await texts(s, "hot")) == everything
            spawns = [e for e in await last.journal("todo", "hot", limit=1000)
                      if e.kind == "spawn"]
            assert len(spawns) == 1
        finally:
            for s in nodes:
                await s.close()

    asyncio.run(go())


def test_a_clients_connection_and_waits_on_one_node_see_what_another_node_commits(
        postgres_url, clock):
    async def go() -> None:
        a, b = await node(postgres_url, clock), await node(postgres_url, clock)
        try:
            await add(a, "x", "first")
            frames: list[Any] = []
            conn = await b.connect("todo", "x", bob, lambda f: frames.append(orjson.loads(f)))
            await eventually(lambda: len(frames) == 1)  # CONNECT, or the state as it is
            waiting = asyncio.ensure_future(b.snapshot(
                "todo", "x", alice, wait_for_event={"type": "ADD_TODO", "text": "second"},
                timeout=10))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            await add(a, "x", "second")  # alice's own event, on the other node
            view = await waiting
            assert [t["text"] for t in view.data["public"]["todos"]] == ["first", "second"]
            # bob's connection on b got the frame that brings it there
            await eventually(lambda: any(
                "second" in orjson.dumps(f).decode() for f in frames[1:]))
            assert (await b.snapshot("todo", "x", bob)).checksum == \
                (await a.snapshot("todo", "x", bob)).checksum
            await b.disconnect(conn)
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())


def test_a_timer_armed_by_a_server_that_died_fires_once_on_another(postgres_url, clock):
    timers = load_chart(ROOT / "tests" / "charts" / "timers.yaml")

    async def go() -> None:
        def server() -> ActorSystem:
            return ActorSystem({"timers": timers}, clock=clock,
                               store=PostgresStore(postgres_url, wake_lease=0.5, wake_poll=0.05))

        a = server()
        await a.start()
        await a.send("timers", "t", alice, {"type": "REMIND", "in": 1})
        due = a.get("timers", "t").next_deadline  # type: ignore[union-attr]
        a._closing = True  # a dies: it fires nothing from now on
        for handle in (a._timer, a._claimer):
            if handle is not None:
                handle.cancel()
        survivors = [server(), server()]
        for s in survivors:
            await s.start()
        clock.t = due + 0.1  # due, and a's claim still holds: nobody fires it
        await asyncio.sleep(0.3)
        journal = await survivors[0].journal("timers", "t", limit=100)
        assert [e.kind for e in journal] == ["spawn", "event"]
        clock.t = due + 1  # a's claim has lapsed: one survivor claims and fires it
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while len(await survivors[0].journal("timers", "t", limit=100)) < 3:
            assert loop.time() < deadline, "the timer did not fire"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # time for a second firing, which must not come
        journal = await survivors[0].journal("timers", "t", limit=100)
        assert [(e.kind, e.type) for e in journal] == [
            ("spawn", None), ("event", "REMIND"), ("timer", "REMINDER")]
        for s in (*survivors, a):
            await s.close()

    asyncio.run(go())


def test_a_read_on_one_node_is_never_older_than_what_another_node_acknowledged(
        postgres_url, clock):
    async def go() -> None:
        a, b = await node(postgres_url, clock), await node(postgres_url, clock)
        try:
            await add(a, "x", "first")
            assert await texts(b, "x") == ["first"]
            b.store._following.cancel()  # type: ignore[attr-defined]  (b hears of nothing)
            await asyncio.sleep(0)
            await add(a, "x", "second")
            assert await texts(b, "x") == ["first", "second"]  # read where it is stored
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())


ROOM = load_chart(ROOT / "tests" / "charts" / "lifecycle.yaml")


async def room_node(url: str, clock: FakeClock, **options: float) -> ActorSystem:
    from actorkit.limits import Limits

    s = ActorSystem({"room": ROOM}, store=PostgresStore(url, **options),  # type: ignore[arg-type]
                    clock=clock, limits=Limits(reconnect_grace=0.05))
    await s.start()
    return s


async def presence_steps(s: ActorSystem) -> list[tuple[str | None, str]]:
    return [(e.type, e.data["connectingCaller" if e.type == "CONNECT" else
                             "disconnectingCaller"]["id"])
            for e in await s.journal("room", "r", limit=100)
            if e.type in ("CONNECT", "DISCONNECT")]


def test_a_caller_connected_through_two_nodes_is_connected_once(postgres_url, clock):
    async def go() -> None:
        a, b = await room_node(postgres_url, clock), await room_node(postgres_url, clock)
        try:
            on_a = await a.connect("room", "r", alice, lambda f: None, input={"topic": "t"})
            on_b = await b.connect("room", "r", alice, lambda f: None)
            assert await presence_steps(a) == [("CONNECT", "alice")]
            await a.disconnect(on_a)
            await asyncio.sleep(0.3)  # past the grace: alice is still connected through b
            assert await presence_steps(a) == [("CONNECT", "alice")]
            await b.disconnect(on_b)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while len(await presence_steps(a)) < 2:
                assert loop.time() < deadline, await a.journal("room", "r")
                await asyncio.sleep(0.02)
            assert await presence_steps(a) == [("CONNECT", "alice"), ("DISCONNECT", "alice")]
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())


def test_the_callers_of_a_node_that_died_are_disconnected_by_the_others(postgres_url, clock):
    async def go() -> None:
        a = await room_node(postgres_url, clock, node_timeout=0.5)
        b = await room_node(postgres_url, clock, node_timeout=0.5)
        await a.connect("room", "r", alice, lambda f: None, input={"topic": "t"})
        await b.connect("room", "r", bob, lambda f: None)
        a.store._following.cancel()  # type: ignore[attr-defined]  (a dies: silent from now)
        await eventually(lambda: b.get("room", "r") is not None and
                         b.get("room", "r").view(bob)["public"]["online"] == ["bob"])  # type: ignore[union-attr]
        assert await presence_steps(b) == [
            ("CONNECT", "alice"), ("CONNECT", "bob"), ("DISCONNECT", "alice")]
        await b.close()
        await a.close()

    asyncio.run(go())


def test_a_copy_nobody_watches_is_put_away_when_another_node_moves_on(postgres_url, clock):
    async def go() -> None:
        a, b = await node(postgres_url, clock), await node(postgres_url, clock)
        try:
            await add(a, "x", "first")
            await add(b, "y", "watched")
            assert await texts(b, "x") == ["first"]  # b holds x now, nobody watching
            conn = await b.connect("todo", "y", bob, lambda frame: None)
            await add(a, "x", "second")
            await add(a, "y", "second")
            # x: b's copy goes (read again when next needed); y: b's copy catches up
            await eventually(lambda: b.get("todo", "x") is None)
            await eventually(lambda: b.get("todo", "y").seq == a.get("todo", "y").seq)  # type: ignore[union-attr]
            assert await texts(b, "x") == ["first", "second"]
            await b.disconnect(conn)
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())


def test_a_read_racing_the_put_away_of_its_copy_still_shows_what_was_acknowledged(
        postgres_url, clock):
    """A read on b finds b's copy behind and catches up; meanwhile b hears of the commit and
    puts the copy away, as nobody watches it there: the read is answered from the store,
    not from the copy it was put away from."""
    async def go() -> None:
        a, b = await node(postgres_url, clock), await node(postgres_url, clock)
        try:
            await add(a, "r", "first")
            assert await texts(b, "r") == ["first"]  # b holds r now
            b.store._following.cancel()  # type: ignore[attr-defined]  (told below, by hand)
            await asyncio.sleep(0)
            await add(a, "r", "second")
            reading = asyncio.ensure_future(texts(b, "r"))
            await asyncio.sleep(0)  # the read is asking the store which step r is at
            b._committed("todo", "r", 2)  # the notification of a's commit comes in now
            assert await reading == ["first", "second"]
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())
