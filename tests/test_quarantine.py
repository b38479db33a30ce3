"""Quarantine: an actor whose timer or lifecycle steps keep failing stops running, for good
(across restarts), says why on every route, and comes back once the quarantine is lifted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from support import FakeClock, alice, ops

from actorkit import Quarantined, StepError, load_chart
from actorkit.journal import verify
from actorkit.limits import Limits
from actorkit.runtime import ActorSystem, NotQuarantined
from actorkit.store import SqliteStore

HERE = Path(__file__).resolve().parent
FLAKY = HERE / "hostile" / "slow" / "charts" / "flaky.yaml"
ADD = {"type": "ADD"}


@pytest.fixture(scope="module")
def charts():
    return {"flaky": load_chart(FLAKY)}


def system(charts, db: Path, clock: FakeClock) -> ActorSystem:
    return ActorSystem(charts, store=SqliteStore(db), clock=clock,
                       limits=Limits(quarantine_after=3))


async def failing_tick(s: ActorSystem, clock: FakeClock, actor_id: str) -> None:
    """Arm a timer and let it fire (it fails while FLAKY_BROKEN is set)."""
    await s.send("flaky", actor_id, alice, {"type": "ARM", "delay": 1})
    clock.t += 2
    await s.tick("flaky", actor_id)


def test_failing_timers_put_the_actor_in_quarantine_for_good_until_lifted(
        charts, tmp_path, monkeypatch):
    db, clock = tmp_path / "actors.db", FakeClock()
    ended: list[Exception] = []

    async def first() -> None:
        s = system(charts, db, clock)
        await s.start()
        await s.send("flaky", "f", alice, ADD)
        await s.connect("flaky", "f", alice, lambda frame: None, end=ended.append)
        monkeypatch.setenv("FLAKY_BROKEN", "raise")
        for _ in range(3):
            await failing_tick(s, clock, "f")
        for attempt in (s.send("flaky", "f", alice, ADD), s.snapshot("flaky", "f", alice),
                        s.connect("flaky", "f", alice, lambda frame: None)):
            with pytest.raises(Quarantined) as refused:
                await attempt
        await s.close()
        message = str(refused.value)
        assert message.startswith("flaky/f is quarantined since ")
        assert "and runs nothing until the quarantine is lifted: fix the chart, then lift it " \
               "with `actorkit quarantine lift flaky f` (server stopped) or `DELETE " \
               "/api/flaky/f/quarantine` with a service token. Why: " in message
        assert "its timer or lifecycle steps failed 3 times in a row, the last one its timer " \
               "TICK step (HookError: hook `tick` (action of transition root on TICK) raised " \
               "RuntimeError: tick is broken" in message
        assert len(ended) == 1 and isinstance(ended[0], Quarantined)  # the socket is told

    asyncio.run(first())
    monkeypatch.delenv("FLAKY_BROKEN")

    async def after_restart() -> None:
        store = SqliteStore(db)
        assert await store.wakes() == []  # nothing wakes a quarantined actor
        s = ActorSystem(charts, store=store, clock=clock, limits=Limits(quarantine_after=3))
        await s.start()
        with pytest.raises(Quarantined):
            await s.send("flaky", "f", alice, ADD)
        journal = await s.journal("flaky", "f")
        assert [e.kind for e in journal][-1] == "quarantine"
        assert [e.error is not None for e in journal if e.kind == "timer"] == [True] * 3
        info = await s.quarantine_of("flaky", "f")
        assert info is not None and info["reason"].startswith("its timer or lifecycle")
        seq = await s.release("flaky", "f")
        assert (await s.journal("flaky", "f", after=seq - 1))[0].kind == "release"
        result, _ = await s.send("flaky", "f", alice, ADD)
        assert result.seq == seq + 2  # brought back (RESUME), then the event
        public = (await s.snapshot("flaky", "f", alice)).data["public"]
        assert (public["added"], public["resumed"]) == (2, 1)
        with pytest.raises(NotQuarantined):
            await s.release("flaky", "f")
        stored = await store.load("flaky", "f")
        assert stored is not None and (await verify(store, charts["flaky"], stored)).same
        await s.close()

    asyncio.run(after_restart())


def test_a_step_that_works_in_between_starts_the_count_again(charts, tmp_path, monkeypatch):
    clock = FakeClock()

    async def go() -> None:
        s = system(charts, tmp_path / "actors.db", clock)
        await s.start()
        await s.send("flaky", "f", alice, ADD)
        for broken in ("raise", "raise", None, "raise", "raise"):
            if broken:
                monkeypatch.setenv("FLAKY_BROKEN", broken)
            else:
                monkeypatch.delenv("FLAKY_BROKEN")
            await failing_tick(s, clock, "f")
        view = await s.snapshot("flaky", "f", alice)
        assert view.data["public"]["ticks"] == 1
        await s.close()

    asyncio.run(go())


def test_a_restore_that_keeps_failing_puts_the_actor_in_quarantine(
        charts, tmp_path, monkeypatch):
    db, clock = tmp_path / "actors.db", FakeClock()

    async def go() -> None:
        s = system(charts, db, clock)
        await s.send("flaky", "f", alice, ADD)
        await s.close()
        monkeypatch.setenv("FLAKY_BROKEN", "raise")
        s = system(charts, db, clock)
        for _ in range(3):
            with pytest.raises(StepError, match="could not be brought back: its RESUME step "
                                                "failed"):
                await s.send("flaky", "f", alice, ADD)
        with pytest.raises(Quarantined, match="the last one its RESUME step"):
            await s.snapshot("flaky", "f", alice)
        await s.close()
        stored = await SqliteStore(db).load("flaky", "f")
        assert stored is not None
        snap = orjson.loads(stored.snapshot)
        assert snap["quarantine"]["reason"].startswith("its timer or lifecycle steps failed")
        monkeypatch.delenv("FLAKY_BROKEN")
        s = system(charts, db, clock)
        await s.release("flaky", "f")
        view = await s.snapshot("flaky", "f", ops)
        assert view.data["public"] == {"resumed": 1, "ticks": 0, "added": 1}
        await s.close()

    asyncio.run(go())
