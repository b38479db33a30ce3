"""``semantics: scxml``: each rule of the W3C SCXML algorithm on a small chart of its own
(tests/scxml/charts), run by real actors, and everything around a step (snapshots, timers,
journal and replay, migrations) under it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from support import ROOT, FakeClock, alice, run_actorkit

from actorkit import (
    Actor,
    Chart,
    ContractError,
    EventRejected,
    SnapshotError,
    inspect_chart,
    load_chart,
)
from actorkit.coverage import Coverage
from actorkit.journal import entries, replay, spawn_entry
from actorkit.migrate import migrate_snapshot
from actorkit.runtime import ActorSystem
from actorkit.store import SqliteStore

PROJECT = ROOT / "tests" / "scxml"


def chart(name: str) -> Chart:
    return load_chart(PROJECT / "charts" / f"{name}.yaml")


def run(name: str, *events: str, restore: bool = False) -> Actor:
    """An actor of chart ``name`` sent ``events`` (restored from its snapshot before each
    one if ``restore``)."""
    c = chart(name)
    clock = FakeClock()
    actor = Actor.spawn(c, "a", caller=alice, clock=clock)
    for e in events:
        if restore:
            actor = Actor.restore(c, actor.snapshot_json(), clock=clock)
        actor.send({"type": e}, alice)
    return actor


def chart_beside(tmp_path: Path, name: str, text: str) -> Chart:
    """Chart ``name`` with the YAML ``text``, in a copy of the fixtures' project (so its
    hooks and schemas are found)."""
    project = tmp_path / name
    shutil.copytree(PROJECT, project)
    path = project / "charts" / f"{name}.yaml"
    path.write_text(text)
    return load_chart(path)


def log(actor: Actor) -> list[Any]:
    return actor.view(alice)["public"]["log"]  # type: ignore[no-any-return]


# -- the algorithm, rule by rule -------------------------------------------------------------

def test_document_order_makes_an_unguarded_transition_the_fallback():
    assert run("fallback", "GO").value == "right"
    assert run("fallback", "READY", "GO").value == "left"


def test_a_conflict_across_regions_goes_to_the_first_in_document_order():
    # c's transition comes first: it preempts d1's and the parallel state's own.
    assert run("preempt").configuration == ["root", "b", "c", "d", "d1"]
    assert run("preempt", "t").value == "a1"


def test_a_transition_across_regions_exits_and_enters_its_parallel_state_again():
    actor = run("domain", "CROSS")
    assert actor.value == {"p": {"r1": "a1", "r2": "b2"}}
    assert log(actor) == ["+p", "-p", "+p"]


def test_an_internal_transition_stays_in_its_source_and_an_external_one_leaves_it():
    actor = run("domain", "BOX", "INNER")
    assert actor.value == {"box": "y"}
    assert log(actor) == ["+p", "-p", "+box"]
    assert log(run("domain", "BOX", "OUTER")) == ["+p", "-p", "+box", "-box", "+box"]


def test_entering_one_region_enters_the_others_at_their_initial_states():
    assert run("entry", "GO").value == {"p": {"r1": "a1", "r2": {"b2": "deep2"}}}


def test_done_state_events_of_a_compound_and_a_parallel_state():
    actor = run("done", "NEXT")
    assert log(actor) == ["done.state.job"]
    assert actor.value == {"work": {"left": "l1", "right": "r1"}}
    actor = run("done", "NEXT", "FINISH_L")
    assert log(actor) == ["done.state.job", "done.state.left"]
    actor = run("done", "NEXT", "FINISH_L", "FINISH_R")
    assert log(actor) == ["done.state.job", "done.state.left", "done.state.work"]
    assert actor.value == "over"


def test_callers_cannot_send_done_events(tmp_path):
    with pytest.raises(EventRejected, match="unknown event type"):
        run("done").send({"type": "done.state.job"}, alice)
    # not even when a schema declares one
    project = tmp_path / "declared"
    shutil.copytree(PROJECT, project)
    schemas = project / "schemas" / "scxml.yaml"
    schemas.write_text(schemas.read_text() + "  done.state.job: {}\n")
    actor = Actor.spawn(load_chart(project / "charts" / "done.yaml"), "d", caller=alice)
    with pytest.raises(EventRejected, match="raised by the chart itself"):
        actor.send({"type": "done.state.job"}, alice)
    assert actor.value == {"job": "step"}


def test_a_final_child_of_the_root_ends_the_actor(tmp_path):
    ends = chart_beside(tmp_path, "ends", (PROJECT / "charts" / "done.yaml").read_text().replace(
        "      - name: over\n", "      - name: over\n        type: final\n").replace(
        "actor: done", "actor: ends"))
    actor = Actor.spawn(ends, "e", caller=alice)
    for e in ("NEXT", "FINISH_L", "FINISH_R"):
        actor.send({"type": e}, alice)
    assert actor.done and actor.value == "over" and actor.configuration == []
    assert log(actor) == ["done.state.job", "done.state.left", "done.state.work"]


def test_event_descriptors_match_by_prefix_and_star():
    assert run("descriptors", "foo.bar").value == "b"
    assert run("descriptors", "foo.bar", "error.send").value == "c"
    assert run("descriptors", "foo.bar", "error.send", "READY").value == "d"
    # `foo` takes foo.bar, but nothing in b takes it
    assert run("descriptors", "foo.bar", "foo.bar").value == "b"


def test_a_transition_with_two_targets_enters_both():
    assert run("multi", "GO").value == {"p": {"r1": "a2", "r2": "b2"}}


def test_history_in_a_parallel_state_and_a_deep_default_below_a_child():
    actor = run("history", "NEXT", "OUT", "BACK")
    assert actor.value == {"p": {"r1": "a2", "r2": "b2"}}
    assert run("history", "OUT", "DEEP").value == {"q": {"y": "y2"}}


# -- around the steps ----------------------------------------------------------------------------

RUNS = [
    ("fallback", ["READY", "GO"]), ("preempt", ["t"]), ("domain", ["CROSS", "BOX", "INNER"]),
    ("entry", ["GO"]), ("done", ["NEXT", "FINISH_L", "FINISH_R"]),
    ("descriptors", ["foo.bar", "error.send", "GO"]), ("multi", ["GO"]),
    ("history", ["NEXT", "OUT", "BACK", "OUT", "DEEP"]),
]


@pytest.mark.parametrize(("name", "events"), RUNS, ids=[r[0] for r in RUNS])
def test_a_snapshot_and_restore_between_every_event_changes_nothing(name, events):
    straight, restored = run(name, *events), run(name, *events, restore=True)
    assert restored.snapshot() == straight.snapshot()
    assert restored.snapshot()["semantics"] == "scxml"


def test_history_of_several_states_survives_a_restore():
    actor = run("history", "NEXT", "OUT")
    assert actor.snapshot()["memory"] == {"h": ["a2", "b2"]}
    again = Actor.restore(chart("history"), actor.snapshot_json())
    again.send({"type": "BACK"}, alice)
    assert again.value == {"p": {"r1": "a2", "r2": "b2"}}


def _variant(tmp_path: Path, name: str, semantics: str | None, version: int = 1,
             edit: tuple[str, str] = ("", "")) -> Chart:
    """Chart ``name`` copied into a project of its own with ``semantics`` (``None``: the
    key left out), ``version`` and one ``edit`` (old text, new text)."""
    project = tmp_path / f"p{version}{semantics}"
    if not project.exists():
        shutil.copytree(PROJECT, project)
    text = (PROJECT / "charts" / f"{name}.yaml").read_text()
    text = text.replace("semantics: scxml\n", "" if semantics is None else
                        f"semantics: {semantics}\nversion: {version}\n")
    path = project / "charts" / f"{name}.yaml"
    path.write_text(text.replace(*edit) if edit[0] else text)
    return load_chart(path)


def test_a_snapshot_does_not_restore_under_the_other_semantics(tmp_path):
    scxml = run("preempt")
    sismic = _variant(tmp_path, "preempt", "sismic")
    with pytest.raises(SnapshotError, match=r"taken under `semantics: scxml`.*runs "
                                            r"`semantics: sismic`.*bump the chart's version"):
        Actor.restore(sismic, scxml.snapshot_json())
    plain = Actor.spawn(sismic, "s", caller=alice)
    assert "semantics" not in plain.snapshot()  # sismic's snapshots stay as they were
    with pytest.raises(SnapshotError, match="taken under `semantics: sismic`"):
        Actor.restore(chart("preempt"), plain.snapshot_json())


def test_a_migration_to_a_new_version_under_scxml(tmp_path):
    # under sismic's semantics the fallback needs a priority (else AK208)
    old = _variant(tmp_path, "fallback", "sismic", edit=(
        "{event: GO, target: right}", "{event: GO, target: right, priority: low}"))
    assert old.semantics == "sismic"
    actor = Actor.spawn(old, "m", caller=alice)
    actor.send({"type": "READY"}, alice)
    new = _variant(tmp_path, "fallback", "scxml", version=2)
    migrated = migrate_snapshot(new, actor.snapshot())
    assert migrated["semantics"] == "scxml"
    actor = Actor.restore(new, migrated)
    actor.send({"type": "GO"}, alice)
    assert actor.value == "left"


def test_after_guards_wake_the_actor_under_scxml(tmp_path):
    c = chart_beside(tmp_path, "late", """
actor: late
semantics: scxml
schemas: schemas/scxml.yaml
statechart:
  name: late
  root state:
    name: root
    initial: wait
    states:
      - name: wait
        transitions:
          - {guard: after(10), target: late}
          - {event: GO, target: early}
      - name: late
      - name: early
""")
    clock = FakeClock()
    actor = Actor.spawn(c, "t", caller=alice, clock=clock)
    assert actor.next_deadline == clock.t + 10
    actor = Actor.restore(c, actor.snapshot_json(), clock=clock)
    clock.t += 9
    assert actor.advance() == [] and actor.value == "wait"
    clock.t += 1
    actor.advance()
    assert actor.value == "late"


def test_journal_replay_and_the_replay_command_under_scxml(tmp_path):
    c = chart("done")
    clock = FakeClock()
    actor = Actor.spawn(c, "j", caller=alice, clock=clock)
    actor.record_steps = True
    journal = [spawn_entry(actor)]
    for e in ("NEXT", "FINISH_L", "FINISH_R"):
        actor.send({"type": e}, alice)
        journal.extend(entries(actor.take_steps()))
    assert replay(c, "j", journal).snapshot() == actor.snapshot()

    db = tmp_path / "actors.db"

    async def serve() -> None:
        system = ActorSystem({"done": c}, store=SqliteStore(db), clock=clock)
        await system.start()
        for e in ("NEXT", "FINISH_L"):
            await system.send("done", "d", alice, {"type": e})
        await system.close()

    asyncio.run(serve())
    done = run_actorkit("replay", "done", "d", "--project", PROJECT, "--db", db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(": the same")
    shown = run_actorkit("replay", "done", "d", "--to", "2", "--project", PROJECT, "--db", db)
    assert '"done.state.left"' in shown.stdout


# -- lint, under each semantics ---------------------------------------------------------------

LINT = ROOT / "tests" / "lint" / "fixtures"


def _lint_copy(tmp_path: Path, fixture: str, head: str) -> list[tuple[int, int, str]]:
    """Lint fixture ``fixture`` copied next to its hooks and schemas with ``head`` put at its
    top (``semantics: scxml``)."""
    project = tmp_path / "lint"
    if not project.exists():
        shutil.copytree(LINT, project)
    path = project / fixture
    path.write_text(head + (LINT / fixture).read_text())
    return [(d.line, d.column, d.code) for d in inspect_chart(path).diagnostics]


@pytest.mark.parametrize("fixture", ["ak208_guard_fallback.yaml", "ak212_cross_region.yaml",
                                     "ak211_partial_parallel.yaml"])
def test_lint_leaves_what_scxml_decides_alone(tmp_path, fixture):
    # Under sismic each is an AK208/AK211/AK212 (tests/lint); under scxml it is legal.
    assert [d.code for d in inspect_chart(LINT / fixture).diagnostics] == [fixture[:5].upper()]
    assert _lint_copy(tmp_path, fixture, "semantics: scxml\n") == []


def test_lint_of_scxml_keys_under_each_semantics(tmp_path):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "s.yaml").write_text("client:\n  foo.bar: {}\n  STOP: {}\n")
    body = """schemas: schemas/s.yaml
statechart:
  name: k
  root state:
    name: root
    initial: a
    states:
      - name: a
        transitions:
          - {event: foo, target: b, type: internal}
          - {event: done.state.a, target: b}
      - name: b
        parallel states:
          - name: h
            type: shallow history
"""
    path = tmp_path / "k.yaml"
    path.write_text("actor: k\n" + body)
    found = [(d.line, d.column, d.code) for d in inspect_chart(path).diagnostics]
    # sismic: the `type:` and the history in a parallel state need scxml; `foo` and
    # `done.state.a` are no declared events; STOP is never handled
    assert found == [(11, 21, "AK301"), (11, 43, "AK213"), (12, 21, "AK301"),
                     (16, 19, "AK201"), (2, 3, "AK302"), (3, 3, "AK302")]
    assert "or set `semantics: scxml`" in inspect_chart(path).diagnostics[3].message
    path.write_text("actor: k\nsemantics: scxml\n" + body)
    found = [(d.line, d.column, d.code) for d in inspect_chart(path).diagnostics]
    # scxml: `foo` takes foo.bar; done.state.a names an atomic state
    assert found == [(13, 21, "AK214"), (3, 3, "AK302")]


def test_the_property_tester_runs_scxml_charts():
    run = run_actorkit("test", PROJECT / "charts", "--max-examples", "5", "--steps", "10",
                       "--seed", "1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("every property held") == 8


def test_contracts_hold_under_scxml(tmp_path):
    counted = chart_beside(tmp_path, "counted", """
actor: counted
semantics: scxml
schemas: schemas/scxml.yaml
context: {n: 0}
statechart:
  name: counted
  root state:
    name: root
    initial: a
    contract:
      - always: n < 2
    states:
      - name: a
        transitions:
          - {event: GO, target: b, action: n += 1, contract: [{after: n == 1}]}
      - name: b
        transitions:
          - {event: GO, target: a, action: n += 1}
""")
    actor = Actor.spawn(counted, "c", caller=alice)
    actor.send({"type": "GO"}, alice)
    assert actor.value == "b"
    with pytest.raises(ContractError, match="invariant `n < 2`"):
        actor.send({"type": "GO"}, alice)
    assert actor.value == "b" and actor.context["n"] == 1


def test_coverage_counts_history_states_under_scxml():
    c = chart("history")
    coverage = Coverage.of("history", c.statechart)
    actor = Actor.spawn(c, "h", caller=alice, on_commit=coverage.count)
    for e in ("NEXT", "OUT", "BACK", "OUT", "DEEP"):
        actor.send({"type": e}, alice)
    assert coverage.states["h"] == 1 and coverage.states["dh"] == 1
    assert coverage.states["p"] == 2 and coverage.states["y2"] == 1
