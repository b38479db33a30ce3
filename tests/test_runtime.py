"""The actor system in process: activation, mailboxes, timers, frames and waits."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from support import CHARTS, ROOT, FakeClock, alice, bob

from actorkit import Caller, EventRejected, load_chart
from actorkit.runtime import ActorSystem, Connection, UnknownActorType, WaitTimeout
from actorkit.store import MemoryStore
from actorkit.sync import apply_patch, canonical, checksum


def system(clock: FakeClock) -> ActorSystem:
    charts = {c.actor_type: c for c in (load_chart(ROOT / "charts" / "todo.yaml"),
                                        load_chart(CHARTS / "timers.yaml"))}
    return ActorSystem(charts, store=MemoryStore(), clock=clock)


def run(coro):
    return asyncio.run(coro)


def test_unknown_types_and_first_touch(clock):
    async def go() -> None:
        s = system(clock)
        with pytest.raises(UnknownActorType, match="Unknown actor type: nope"):
            await s.snapshot("nope", "x", alice)
        assert s.get("todo", "a") is None
        view = await s.snapshot("todo", "a", bob)
        assert s.get("todo", "a").initial_caller == bob
        assert view.checksum == checksum(canonical(view.data))
        with pytest.raises(EventRejected):
            await s.snapshot("todo", "b", alice, input={"unexpected": 1})
        assert s.get("todo", "b") is None  # bad input spawns nothing

    run(go())


def test_frames_are_made_once_and_shared_by_equal_views(clock):
    async def go() -> None:
        s = system(clock)
        got: dict[str, list[str]] = {"a1": [], "a2": [], "b": []}
        await s.connect("todo", "f", alice, got["a1"].append)
        await s.connect("todo", "f", alice, got["a2"].append)
        await s.connect("todo", "f", bob, got["b"].append)
        await s.send("todo", "f", alice, {"type": "ADD_TODO", "text": "milk"})
        assert got["a1"][-1] is got["a2"][-1]  # one frame object for both of alice's sockets
        assert got["a1"][-1] is got["b"][-1]   # and bob's view is equal: the same frame
        await s.send("todo", "f", bob, {"type": "SET_FILTER", "filter": "active"})
        assert len(got["a1"]) == 2 and len(got["b"]) == 3  # only bob's view changed
        for frames in got.values():
            view: dict = {}
            for frame in frames:
                body = json.loads(frame)
                view = apply_patch(view, body["operations"])
                assert checksum(canonical(view)) == body["checksum"]

    run(go())


def test_a_timer_woken_early_is_armed_again(clock):
    async def go() -> None:
        s = system(clock)
        key = ("timers", "t")
        await s.send("timers", "t", alice, {"type": "REMIND", "in": 10})
        due = s._wakes[key]
        assert due == clock.t + 10
        del s._wakes[key]  # what the system timer does when it fires...
        clock.t += 9.999   # ...a hair before the actor's deadline
        await s._tick_after_wake(key, due)
        assert s._wakes[key] == due  # armed again
        clock.t += 0.01
        [fired] = await s.tick(*key)
        assert fired.type == "REMINDER"
        assert key not in s._wakes

    run(go())


def test_timers_run_on_the_loop_at_their_time():
    async def go() -> None:
        clock = FakeClock(0.0)
        loop = asyncio.get_running_loop()
        clock.t = loop.time()
        s = ActorSystem({"timers": load_chart(CHARTS / "timers.yaml")},
                        store=MemoryStore(), clock=loop.time)
        frames: list[str] = []
        await s.connect("timers", "t", alice, frames.append)
        await s.send("timers", "t", alice, {"type": "REMIND", "in": 0.05})
        await asyncio.sleep(0.3)
        fired = s.get("timers", "t").view(alice)["public"]["fired"]
        assert [f[0] for f in fired] == ["REMINDER"]
        assert len(frames) == 3  # the view, the reminder set, the reminder fired
        await s.close()

    run(go())


def test_waits(clock):
    async def go() -> None:
        s = system(clock)
        await s.snapshot("todo", "w", alice, wait_for_state={"Initialization": "Ready"},
                         timeout=0.01)  # already there: at once
        with pytest.raises(WaitTimeout):
            await s.snapshot("todo", "w", alice, wait_for_state="Elsewhere", timeout=0.05)
        waiting = asyncio.create_task(s.snapshot(
            "todo", "w", alice, wait_for_event={"type": "ADD_TODO", "text": "b"}, timeout=2))
        await asyncio.sleep(0.01)
        await s.send("todo", "w", alice, {"type": "ADD_TODO", "text": "a"})
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await s.send("todo", "w", alice, {"type": "ADD_TODO", "text": "b"})
        view = await waiting
        assert [t["text"] for t in view.data["public"]["todos"]] == ["a", "b"]

    run(go())


AUCTION = {"title": "Desk", "startingPrice": 10_000, "increment": 500, "reservePrice": 0,
           "durationSeconds": 600, "sellerId": "sam"}


def test_a_wait_tells_a_client_nothing_its_view_does_not(clock):
    """The secret maximum of the auction: a client's waits match the fields of its own events
    only, and another caller's event by type when that step changed what the client sees."""
    carol, platform = Caller.client("carol"), Caller.service("platform")

    async def go() -> None:
        s = ActorSystem({"auction": load_chart(ROOT / "charts" / "auction.yaml")},
                        store=MemoryStore(), clock=clock)
        await s.snapshot("auction", "a", Caller.client("sam"), input=AUCTION)
        await s.send("auction", "a", platform, {"type": "OPEN"})
        await s.send("auction", "a", bob, {"type": "PLACE_BID", "amount": 10_000})

        def wait(caller: Caller, **event: object) -> asyncio.Task:
            return asyncio.create_task(s.snapshot(
                "auction", "a", caller, wait_for_event={"type": "SET_MAX_BID", **event},
                timeout=5))

        guesses = {amount: wait(alice, amount=amount) for amount in range(15_000, 25_001, 500)}
        any_maximum, platform_sees = wait(alice), wait(platform, amount=20_000)
        await asyncio.sleep(0)
        # bob, leading, raises his maximum: only his own bucket changes
        await s.send("auction", "a", bob, {"type": "SET_MAX_BID", "amount": 20_000})
        await asyncio.sleep(0.01)
        assert not any(g.done() for g in guesses.values()) and not any_maximum.done()
        await asyncio.wait_for(platform_sees, 1)  # a service reads every payload anyway
        # carol's maximum makes the proxies bid: alice sees that step, not its amount
        await s.send("auction", "a", carol, {"type": "SET_MAX_BID", "amount": 15_000})
        view = await asyncio.wait_for(any_maximum, 1)
        assert view.data["public"]["currentPrice"] == 15_500
        await asyncio.sleep(0.01)
        assert not any(g.done() for g in guesses.values())
        # alice's own maximum matches her waits, fields and all
        await s.send("auction", "a", alice, {"type": "SET_MAX_BID", "amount": 16_000})
        await asyncio.wait_for(guesses.pop(16_000), 1)
        await asyncio.sleep(0.01)
        assert not any(g.done() for g in guesses.values())
        for guess in guesses.values():
            guess.cancel()

    run(go())


def test_reconnecting_with_a_known_checksum_gets_a_diff(clock):
    async def go() -> None:
        s = system(clock)
        first = await s.snapshot("todo", "r", alice)
        await s.send("todo", "r", alice, {"type": "ADD_TODO", "text": "x"})
        frames: list[str] = []
        await s.connect("todo", "r", alice, frames.append, checksum=first.checksum)
        [frame] = frames
        body = json.loads(frame)
        assert [op["path"] for op in body["operations"]] == ["/public/todos/0"]
        clock.t += 301  # the cache keeps views 300 s
        late: list[str] = []
        await s.connect("todo", "r", alice, late.append, checksum=first.checksum)
        assert [op["path"] for op in json.loads(late[0])["operations"]] == [
            "/public", "/private", "/value"]

    run(go())


def test_a_failing_connect_hook_does_not_refuse_the_connection(clock, tmp_path):
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "grumpy.py").write_text(
        "def greet(ctx, event):\n    raise RuntimeError('no')\n")
    (tmp_path / "grumpy.yaml").write_text(
        "actor: grumpy\nhooks: hooks.grumpy\nstatechart:\n  name: g\n  root state:\n"
        "    name: r\n    transitions: [{event: CONNECT, action: greet}]\n")

    async def go() -> None:
        s = ActorSystem({"grumpy": load_chart(tmp_path / "grumpy.yaml")},
                        store=MemoryStore(), clock=clock)
        frames: list[str] = []
        conn = await s.connect("grumpy", "g", Caller.client("c"), frames.append)
        assert len(frames) == 1
        await s.disconnect(conn)

    run(go())


def test_an_actor_its_store_has_moved_on_from_catches_up_and_runs_the_event_there(clock):

    async def go() -> None:
        shared = MemoryStore()  # two systems on one store: another server's writes
        charts = {"todo": load_chart(ROOT / "charts" / "todo.yaml")}
        one = ActorSystem(charts, store=shared, clock=clock)
        two = ActorSystem(charts, store=shared, clock=clock)
        await one.send("todo", "t", alice, {"type": "ADD_TODO", "text": "first"})
        frames: list[str] = []
        conn = await two.connect("todo", "t", bob, frames.append)
        await one.send("todo", "t", alice, {"type": "ADD_TODO", "text": "from one"})
        # two's copy is behind: its commit is refused, it reloads what the store has and
        # runs the event again there, and answers only then
        result, _ = await two.send("todo", "t", bob, {"type": "ADD_TODO", "text": "from two"})
        assert result.seq == 3
        texts = [t["text"] for t in two.get("todo", "t").view(bob)["public"]["todos"]]
        assert texts == ["first", "from one", "from two"]
        view: dict = {}
        for frame in frames:  # bob's connection went through the state stored by one
            view = apply_patch(view, json.loads(frame)["operations"])
        assert [t["text"] for t in view["public"]["todos"]] == ["first", "from one", "from two"]
        stored = await shared.load("todo", "t")
        assert stored is not None
        texts = [t["text"] for t in json.loads(stored.snapshot)["context"]["public"]["todos"]]
        assert texts == ["first", "from one", "from two"]
        await two.disconnect(conn)

    run(go())


@pytest.mark.parametrize(("damaged", "words"), [
    (b"not json", "the stored snapshot of todo/a is damaged (JSONDecodeError: "),
    (b"[1, 2]", "the stored snapshot of todo/a is damaged (AttributeError: "),
    (b'{"actor": null}', "the stored snapshot of todo/a is damaged (AttributeError: "),
    (b'{"actor": {"version": 1}, "format": 1}', "snapshot is of a None actor"),
])
def test_a_damaged_stored_snapshot_is_a_snapshot_error_for_that_actor_only(clock, damaged,
                                                                            words):
    from actorkit import SnapshotError
    from actorkit.store import Entry, MemoryStore

    async def go() -> None:
        store = MemoryStore()
        charts = {"todo": load_chart(ROOT / "charts" / "todo.yaml")}
        for actor_id in ("a", "b"):
            await ActorSystem(charts, store=store, clock=clock).send(
                "todo", actor_id, alice, {"type": "ADD_TODO", "text": "x"})
        await store.commit("todo", "a", [Entry(9, clock.t, "event", alice, "ADD_TODO", {})],
                           damaged, version=1, seq=9, wake=None)
        fresh = ActorSystem(charts, store=store, clock=clock)
        for _ in range(2):  # every touch says so, none brings in half an actor
            with pytest.raises(SnapshotError) as info:
                await fresh.snapshot("todo", "a", alice)
            assert str(info.value).startswith(words)
        view = await fresh.snapshot("todo", "b", alice)
        assert [t["text"] for t in view.data["public"]["todos"]] == ["x"]

    run(go())


def test_a_caller_back_within_the_grace_sends_neither_disconnect_nor_connect(clock):
    from actorkit.limits import Limits

    async def go() -> None:
        s = ActorSystem({"room": load_chart(CHARTS / "lifecycle.yaml")},
                        store=MemoryStore(), clock=clock,
                        limits=Limits(reconnect_grace=0.2))

        async def connect() -> Connection:
            return await s.connect("room", "r", alice, lambda frame: None,
                                   input={"topic": "t"})

        conn = await connect()
        for _ in range(50):  # churn: each reconnect is back well within the grace
            await s.disconnect(conn)
            conn = await connect()
        kinds = [e.type for e in await s.journal("room", "r")]
        assert kinds.count("CONNECT") == 1 and "DISCONNECT" not in kinds
        await s.disconnect(conn)
        online = (await s.snapshot("room", "r", bob)).data["public"]["online"]
        assert online == ["alice"]  # still in the grace
        await asyncio.sleep(0.4)  # gone for longer than the grace: DISCONNECT
        assert (await s.snapshot("room", "r", bob)).data["public"]["online"] == []
        conn = await connect()
        await s.disconnect(conn)
        await s.close()  # a DISCONNECT still in its grace is sent when the system stops
        kinds = [e.type for e in await s.journal("room", "r")]
        assert [k for k in kinds if k in ("CONNECT", "DISCONNECT")] == [
            "CONNECT", "DISCONNECT", "CONNECT", "DISCONNECT"]


def test_refused_events_leave_no_garbage_holding_the_context_they_refused(clock):
    """A failed step's traceback held the context from before the rollback in a cycle that
    only Python's rare full collections free: thousands of refused events at a full todo list
    took a server's memory up by hundreds of megabytes."""
    import gc
    import tracemalloc

    from actorkit import BoundError

    async def go() -> None:
        s = system(clock)
        sync = Caller.service("sync")
        todos = [{"id": f"t{i}", "text": "x", "completed": False} for i in range(1000)]
        await s.send("todo", "full", sync, {"type": "SYNC_TODOS", "todos": todos})
        for _ in range(3):  # warm up
            with pytest.raises(BoundError):
                await s.send("todo", "full", alice, {"type": "ADD_TODO", "text": "no room"})
        gc.collect()
        gc.disable()  # as if no full collection came: garbage in cycles stays
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(20):
                with pytest.raises(BoundError):
                    await s.send("todo", "full", alice, {"type": "ADD_TODO", "text": "no room"})
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
            gc.enable()
        assert grown < 1_000_000, grown  # each refusal left its list behind: ~10 MB in all

    run(go())


def test_a_todo_actor_filled_step_by_step_holds_its_state_not_every_view_it_had(clock):
    """The view cache held 256 views of any size: a todo list filled to its cap one ADD_TODO
    at a time kept ~280 MB; it is bounded in bytes (ACTORKIT_VIEW_CACHE) now."""
    import gc
    import tracemalloc

    from actorkit.limits import Limits

    async def go() -> tuple[int, int, Any]:
        s = ActorSystem({"todo": load_chart(ROOT / "charts" / "todo.yaml")},
                        store=MemoryStore(), clock=clock,
                        limits=Limits(view_cache=256 * 1024))
        frames: list[str] = []
        conn = await s.connect("todo", "full", alice, frames.append)
        gc.collect()
        tracemalloc.start()
        try:
            for i in range(400):
                await s.send("todo", "full", alice,
                             {"type": "ADD_TODO", "text": f"{i:04d}" + "x" * 496})
            frames.clear()
            gc.collect()
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        cell = await s.cell("todo", "full", None)
        await s.disconnect(conn)
        return held, len(s.get("todo", "full").snapshot_json()), cell  # type: ignore[union-attr]

    held, stored, cell = run(go())
    # the state as Python objects and JSON, the views last sent, and the cache: a few times
    # the stored state (230 KB), not the 400 states it went through (~90 MB)
    assert held < 8 * stored + 256 * 1024, (held, stored)
    assert cell.cache.bytes <= 256 * 1024


def test_a_client_with_the_current_checksum_gets_nothing_even_past_the_cache(clock):
    from actorkit.limits import Limits

    async def go() -> None:
        s = ActorSystem({"todo": load_chart(ROOT / "charts" / "todo.yaml")},
                        store=MemoryStore(), clock=clock,
                        limits=Limits(view_cache=1000))
        todos = [{"id": str(i), "text": "x" * 100, "completed": False} for i in range(50)]
        await s.send("todo", "big", Caller.service("sync"), {"type": "SYNC_TODOS",
                                                              "todos": todos})
        view = await s.snapshot("todo", "big", alice)
        assert len(view.json) > 1000  # too big for the cache
        frames: list[str] = []
        conn = await s.connect("todo", "big", alice, frames.append, checksum=view.checksum)
        assert frames == []  # current: nothing to send
        await s.disconnect(conn)

    run(go())


def test_journal_pages_are_bounded_in_bytes_even_from_a_store_of_ones_own(clock):
    from actorkit.limits import Limits

    class OldStore(MemoryStore):
        """A store written before journal pages had a size (no ``max_bytes``)."""

        async def journal(self, actor_type: str, actor_id: str, *, after: int = -1,
                          limit: int = 100) -> list:  # type: ignore[override]
            return await super().journal(actor_type, actor_id, after=after, limit=limit)

    async def go() -> None:
        charts = {"todo": load_chart(ROOT / "charts" / "todo.yaml")}
        for store in (MemoryStore(), OldStore()):
            s = ActorSystem(charts, store=store, clock=clock,
                            limits=Limits(journal_page=2000))
            for _ in range(6):
                await s.send("todo", "j", alice, {"type": "ADD_TODO", "text": "x" * 500})
            seen, after = [], -1
            for _ in range(10):
                found = await s.journal("todo", "j", after=after, limit=100)
                if not found:
                    break
                assert sum(e.page_bytes() for e in found) <= 2000
                seen.append([e.seq for e in found])
                after = found[-1].seq
            assert [seq for page in seen for seq in page] == list(range(7))
            assert len(seen) > 2, seen  # ~700 bytes an entry: two or three a page

    run(go())


def test_a_system_made_without_a_store_keeps_actors_in_the_projects_file(tmp_path, monkeypatch):
    import shutil

    from actorkit.store import SqliteStore

    for folder in ("charts", "hooks", "schemas"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.setenv("ACTORKIT_PROJECT", str(tmp_path))
    monkeypatch.delenv("ACTORKIT_DB", raising=False)
    todo = tmp_path / "charts" / "todo.yaml"

    async def main():
        first = ActorSystem({"todo": load_chart(todo)})
        assert isinstance(first.store, SqliteStore)
        assert first.store.path == tmp_path / ".actorkit" / "actors.db"
        await first.start()
        await first.send("todo", "t", alice, {"type": "ADD_TODO", "text": "kept"})
        await first.close()
        again = ActorSystem({"todo": load_chart(todo)})
        await again.start()
        view = await again.snapshot("todo", "t", alice)
        await again.close()
        return view

    view = asyncio.run(main())
    assert [t["text"] for t in view.data["public"]["todos"]] == ["kept"]
    assert (tmp_path / ".actorkit" / ".gitignore").read_text() == "*\n"
    # charts whose actors are never stored make no file
    shutil.rmtree(tmp_path / ".actorkit")
    todo.write_text(todo.read_text().replace("persisted: true", "persisted: false"))
    ActorSystem({"todo": load_chart(todo)})
    assert not (tmp_path / ".actorkit").exists()
