"""Migrations: a snapshot of version 1 of the shop chart (tests/migrations/v1) brought to
version 2 (tests/migrations/v2): migrate hook, new defaults, removed states and history, the
errors that keep the stored snapshot, and the whole path through an actor system's store."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from support import ROOT, FakeClock, alice, bob

from actorkit import Actor, Chart, HookError, SnapshotError, load_chart
from actorkit.journal import replay
from actorkit.migrate import migrate_snapshot
from actorkit.runtime import ActorSystem
from actorkit.store import SqliteStore

MIGRATIONS = ROOT / "tests" / "migrations"
OPEN = ["music", "open", "shopping", "till"]  # always active while the shop is open


def shop(variant: str) -> Chart:
    """v1, v2 (with a migrate hook), broken (its migrate hook raises) or plain (no hook)."""
    return load_chart(MIGRATIONS / variant / "shop.yaml")


@pytest.fixture(scope="module")
def v1() -> Chart:
    return shop("v1")


@pytest.fixture(scope="module")
def v2() -> Chart:
    return shop("v2")


SCAN_FIGS = {"type": "SCAN", "item": "figs", "price": 5}


def v1_shop(v1: Chart, clock: FakeClock, *events: str | dict[str, Any]) -> Actor:
    """A version 1 shop where alice scanned tea (3) and bob scanned jam (4), then ``events``
    (from alice; a bare type or the whole event)."""
    actor = Actor.spawn(v1, "s", caller=alice, clock=clock)
    actor.send({"type": "SCAN", "item": "tea", "price": 3}, alice)
    actor.send({"type": "SCAN", "item": "jam", "price": 4}, bob)
    for event in events:
        actor.send({"type": event} if isinstance(event, str) else event, alice)
    return actor


def test_new_keys_get_their_defaults_after_the_migrate_hook(v1, v2, clock):
    old = v1_shop(v1, clock).snapshot()
    kept = orjson.dumps(old)
    new = migrate_snapshot(v2, old)
    assert orjson.dumps(old) == kept  # the snapshot given is untouched
    assert new["actor"] == {"type": "shop", "id": "s", "version": 2}
    assert new["seq"] == old["seq"] + 1  # a migration is a step
    context = new["context"]
    # the hook renamed `total`; `currency` is the hook's EUR, not the chart's USD default:
    # the hook ran first
    assert context["public"] == {"items": ["tea", "jam"], "sum": 7, "currency": "EUR",
                                 "migrated": None}
    # every caller's bucket gets the new bucket key, keeping its own values
    assert context["private"] == {"alice": {"cart": ["tea"], "wishlist": []},
                                  "bob": {"cart": ["jam"], "wishlist": []}}
    assert (context["visits"], context["audit"]) == (2, [])  # internal: kept, and the new one
    actor = Actor.restore(v2, new, clock=clock)
    assert actor.view(bob) == {
        "public": {"items": ["tea", "jam"], "sum": 7, "currency": "EUR", "migrated": None},
        "private": {"cart": ["jam"], "wishlist": []},
        "value": {"open": {"shopping": {"till": "scanning", "music": "quiet"}}}}
    actor.send(SCAN_FIGS, alice)  # and it runs on version 2
    assert actor.view(alice)["public"]["sum"] == 12


def test_a_removed_state_gives_way_to_the_initial_state_of_its_parent(v1, v2, clock):
    old = v1_shop(v1, clock, "HOLIDAY", "SKI").snapshot()
    assert old["value"] == {"holiday": "ski"}
    clock.t += 30
    new = migrate_snapshot(v2, old)
    assert new["configuration"] == sorted(["root", *OPEN, "idle", "quiet"])
    assert new["value"] == {"open": {"shopping": {"till": "idle", "music": "quiet"}}}
    # the states it entered were entered at the snapshot's time
    assert all(new["entered"][s] == old["time"] for s in ["open", "idle", "quiet"])
    actor = Actor.restore(v2, new, clock=clock)
    assert actor.value == {"open": {"shopping": {"till": "idle", "music": "quiet"}}}


def test_in_a_parallel_state_only_the_region_that_lost_its_state_starts_over(v1, v2, clock):
    old = v1_shop(v1, clock, "PAY_CASH", "MUSIC").snapshot()
    assert old["value"] == {"open": {"shopping": {"till": "cash", "music": "loud"}}}
    new = migrate_snapshot(v2, old)
    assert new["configuration"] == sorted(["root", *OPEN, "idle", "loud"])
    actor = Actor.restore(v2, new, clock=clock)
    assert actor.value == {"open": {"shopping": {"till": "idle", "music": "loud"}}}


def test_a_scheduled_timer_of_a_removed_state_goes_with_it(v1, v2, clock):
    old = v1_shop(v1, clock, "PAY_CASH").snapshot()
    due = old["time"] + 60
    old["timers"] = [  # as ctx.schedule() would have left them
        {"id": "t1", "due": due, "type": "MUSIC", "data": {}, "within": "cash"},
        {"id": "t2", "due": due, "type": "MUSIC", "data": {}, "within": "shopping"}]
    new = migrate_snapshot(v2, old)
    assert [t["id"] for t in new["timers"]] == ["t2"]  # `cash` is gone in version 2
    actor = Actor.restore(v2, new, clock=clock)
    clock.t = due
    assert [r.type for r in actor.advance()] == ["MUSIC"]


def test_history_memory_of_removed_states_is_dropped(v1, v2, clock):
    # holiday.H remembers ski; open.H* remembers the till paying cash and the music loud
    old = v1_shop(v1, clock, "HOLIDAY", "SKI", "OPEN", SCAN_FIGS, "PAY_CASH", "MUSIC",
                  "CLOSE").snapshot()
    assert old["memory"] == {"holiday.H": ["ski"],
                             "open.H*": sorted(["cash", "loud", "music", "shopping", "till"])}
    new = migrate_snapshot(v2, old)
    assert new["configuration"] == ["closed", "root"]  # still closed
    assert new["memory"] == {"open.H*": ["loud", "music", "shopping", "till"]}
    actor = Actor.restore(v2, new, clock=clock)
    actor.send({"type": "OPEN"}, alice)  # back through the deep history
    assert actor.value == {"open": {"shopping": {"till": "idle", "music": "loud"}}}


def test_a_done_actor_loses_the_history_of_removed_states_too(v1, v2, clock):
    old = v1_shop(v1, clock, "HOLIDAY", "OPEN", "CLOSE").snapshot()
    old.update(final="closed", configuration=[], value="closed")  # as if `closed` were final
    new = migrate_snapshot(v2, old)
    assert (new["final"], new["configuration"], new["value"]) == ("closed", [], "closed")
    assert "holiday.H" not in new["memory"]
    assert Actor.restore(v2, new, clock=clock).done


def test_a_snapshot_of_the_current_version_is_left_as_it_is(v1, clock):
    old = v1_shop(v1, clock).snapshot()
    assert migrate_snapshot(v1, old) == old


def test_a_failing_migrate_hook_names_itself_and_keeps_the_stored_snapshot(v1, clock):
    old = v1_shop(v1, clock).snapshot()
    kept = orjson.dumps(old)
    hooks = MIGRATIONS / "broken" / "hooks" / "shop.py"
    with pytest.raises(SnapshotError) as info:
        migrate_snapshot(shop("broken"), old)
    message = str(info.value)
    assert message.startswith("the migrate hook failed on shop/s (version 1 to 2): "
                              "ValueError: no way from version 1")
    assert str(hooks) in message
    assert message.endswith("; the stored snapshot is kept as it was")
    assert orjson.dumps(old) == kept


def test_a_migration_that_breaks_the_new_schema_asks_for_a_migrate_hook(v1, clock):
    with pytest.raises(SnapshotError, match=(
            r"^migrating shop/s from version 1: context.public breaks the new `public` schema "
            r"at /total: .*'total' was unexpected.*; add a `migrate\(snapshot, from_version, "
            r"to_version\)` hook that rewrites it$")):
        migrate_snapshot(shop("plain"), v1_shop(v1, clock).snapshot())


def test_a_snapshot_of_a_newer_version_is_refused(v1, v2, clock):
    newer = migrate_snapshot(v2, v1_shop(v1, clock).snapshot())
    with pytest.raises(SnapshotError, match=r"^snapshot of shop/s was taken with version 2 of "
                                            r"the chart, newer than this one \(1\): run the "
                                            r"newer chart$"):
        migrate_snapshot(v1, newer)
    del newer["actor"]["version"]
    with pytest.raises(SnapshotError, match="has no chart version: it cannot be migrated"):
        migrate_snapshot(v1, newer)


# -- through an actor system and its store -------------------------------------------------------

async def with_system(chart: Chart, db: Path, clock: FakeClock, work: Any) -> Any:
    system = ActorSystem({"shop": chart}, store=SqliteStore(db), clock=clock)
    await system.start()
    try:
        return await work(system)
    finally:
        await system.close()


async def v1_run(system: ActorSystem) -> None:
    await system.send("shop", "s", alice, {"type": "SCAN", "item": "tea", "price": 3})
    await system.send("shop", "s", bob, {"type": "SCAN", "item": "jam", "price": 4})
    await system.send("shop", "s", alice, {"type": "PAY_CASH"})
    await system.send("shop", "s", alice, {"type": "MUSIC"})


def test_a_stored_actor_is_migrated_when_a_newer_chart_restores_it(v1, v2, tmp_path, clock):
    db = tmp_path / "actors.db"
    asyncio.run(with_system(v1, db, clock, v1_run))
    clock.t += 3600

    async def v2_run(system: ActorSystem) -> Any:
        view = await system.snapshot("shop", "s", alice)
        await system.send("shop", "s", alice, SCAN_FIGS)
        return view, await system.store.load("shop", "s"), await system.journal(
            "shop", "s", limit=1000)

    view, stored, journal = asyncio.run(with_system(v2, db, clock, v2_run))
    assert view.data == {
        "public": {"items": ["tea", "jam"], "sum": 7, "currency": "EUR", "migrated": [1, 2]},
        "private": {"cart": ["tea"], "wishlist": []},
        "value": {"open": {"shopping": {"till": "idle", "music": "loud"}}}}
    assert [(e.seq, e.kind, e.type) for e in journal] == [
        (0, "spawn", None), (1, "event", "SCAN"), (2, "event", "SCAN"), (3, "event", "PAY_CASH"),
        (4, "event", "MUSIC"),
        (5, "migrate", None),  # the migrated snapshot, and in the same commit...
        (6, "system", "MIGRATE"),  # ...the chart's MIGRATE transition; then business as usual
        (7, "event", "SCAN")]
    migrated = journal[5].data
    assert (migrated["fromVersion"], migrated["toVersion"]) == (1, 2)
    assert migrated["snapshot"]["actor"]["version"] == 2
    assert migrated["snapshot"]["value"] == {"open": {"shopping": {"till": "idle",
                                                                    "music": "loud"}}}
    assert journal[6].data == {"fromVersion": 1, "toVersion": 2}
    assert (stored.version, stored.seq) == (2, 7)
    actor = Actor.restore(v2, stored.snapshot)
    assert actor.context["audit"] == ["migrated at step 6"]
    assert actor.view(alice)["public"]["sum"] == 12
    # the whole journal replays with the new chart: from the migration on
    assert replay(v2, "s", journal).snapshot_json() == stored.snapshot

    # restored again by version 2: nothing more to migrate
    again = asyncio.run(with_system(v2, db, clock, lambda s: s.snapshot("shop", "s", bob)))
    assert again.data["public"]["migrated"] == [1, 2]
    journal = asyncio.run(with_system(v2, db, clock, lambda s: s.journal("shop", "s")))
    assert [e.kind for e in journal].count("migrate") == 1


@pytest.mark.parametrize(("variant", "problem"), [
    ("broken", "the migrate hook failed"), ("plain", "breaks the new `public` schema")])
def test_an_actor_that_cannot_be_migrated_stays_as_stored(v1, tmp_path, clock, variant,
                                                          problem):
    db = tmp_path / "actors.db"
    asyncio.run(with_system(v1, db, clock, v1_run))
    before = asyncio.run(with_system(v1, db, clock, lambda s: s.store.load("shop", "s")))
    journal = asyncio.run(with_system(v1, db, clock, lambda s: s.journal("shop", "s")))

    async def try_it(system: ActorSystem) -> None:
        for _ in range(2):  # every attempt fails the same way: nothing was half done
            with pytest.raises(SnapshotError, match=problem):
                await system.send("shop", "s", alice, {"type": "DONE"})
            assert system.get("shop", "s") is None
        assert await system.store.load("shop", "s") == before
        assert await system.journal("shop", "s") == journal

    asyncio.run(with_system(shop(variant), db, clock, try_it))
    # and version 1 still runs it
    after = asyncio.run(with_system(v1, db, clock, lambda s: s.snapshot("shop", "s", alice)))
    assert after.data["value"] == {"open": {"shopping": {"till": "cash", "music": "loud"}}}


def test_a_failing_migrate_transition_leaves_the_actor_unmigrated(v1, v2, tmp_path, clock):
    db = tmp_path / "actors.db"
    asyncio.run(with_system(v1, db, clock, v1_run))
    before = asyncio.run(with_system(v1, db, clock, lambda s: s.store.load("shop", "s")))
    failing = tmp_path / "failing"
    shutil.copytree(MIGRATIONS / "v2", failing)
    hooks = failing / "hooks" / "shop.py"
    hooks.write_text(hooks.read_text().replace(
        "def migrated(ctx, event):\n", "def migrated(ctx, event):\n    raise KeyError('x')\n"))

    async def try_it(system: ActorSystem) -> None:
        for _ in range(2):  # not migrated halfway: MIGRATE runs again on the next touch
            with pytest.raises(HookError, match="its MIGRATE step failed"):
                await system.snapshot("shop", "s", alice)
        assert await system.store.load("shop", "s") == before

    asyncio.run(with_system(load_chart(failing / "shop.yaml"), db, clock, try_it))
    # with the transition fixed, the migration and MIGRATE are committed together
    view = asyncio.run(with_system(v2, db, clock, lambda s: s.snapshot("shop", "s", alice)))
    assert view.data["public"]["migrated"] == [1, 2]


def test_replay_tells_to_migrate_first_then_replays_from_the_migration(v1, v2, tmp_path,
                                                                      clock, capsys):
    from actorkit.cli import main

    db = tmp_path / "actors.db"
    asyncio.run(with_system(v1, db, clock, v1_run))
    project = tmp_path / "project"
    shutil.copytree(MIGRATIONS / "v2", project)
    (project / "charts").mkdir()
    (project / "shop.yaml").rename(project / "charts" / "shop.yaml")
    args = ["replay", "shop", "s", "--project", str(project), "--db", str(db)]

    assert main(args) == 2  # version 1 in the store, version 2 in the project
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(
        "actorkit replay: shop/s is stored at chart version 1 and the chart is now version 2: "
        "it is migrated when it is next touched")

    asyncio.run(with_system(v2, db, clock, lambda s: s.snapshot("shop", "s", alice)))
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert out.startswith("shop/s: 2 journal entries (from its migration at step 5) replayed "
                          "to step 6; stored state "), out
    assert out.rstrip().endswith(": the same") and err == ""
