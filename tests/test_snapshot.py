"""Snapshots: plain JSON, restored into a fresh actor (or a fresh process) that carries on
exactly as the original; and plain sismic charts running unchanged."""

from __future__ import annotations

import json
import subprocess
import sys

import orjson
import pytest
from sismic.clock import SimulatedClock
from sismic.interpreter import Interpreter
from sismic.io.datadict import import_from_dict
from support import CHARTS, ROOT, FakeClock, alice, bob, chart

from actorkit import Actor, Caller, SnapshotError, load_chart

PLAYER_EVENTS = ["MODE", "SKIP", "SKIP", "AD", "PAUSE", "PLAY", "AD_DONE", "SKIP", "POWER",
                 "POWER", "SKIP", "MODE", "PAUSE", "PLAY"]


def drive(actor, events, caller=alice):
    for e in events:
        actor.send({"type": e}, caller)


def test_snapshot_is_plain_json_with_the_state_a_store_needs(clock):
    a = Actor.spawn(chart("history"), "p", caller=alice, clock=clock)
    drive(a, PLAYER_EVENTS[:4])
    snap = a.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert snap["actor"] == {"type": "player", "id": "p", "version": 1}
    assert snap["seq"] == 4
    assert snap["value"] == {"on": {"main": {"playing": {"audio": "mono", "deck": "ad"}}}}
    assert snap["memory"] == {"track.H": ["chorus"]}
    assert snap["initialCaller"] == {"type": "client", "id": "alice"}
    assert a.snapshot_json() == orjson.dumps(snap, option=orjson.OPT_SORT_KEYS)


@pytest.mark.parametrize("cut", range(len(PLAYER_EVENTS) + 1))
def test_restore_at_any_point_continues_exactly(clock, cut):
    original = Actor.spawn(chart("history"), "p", caller=alice, clock=clock)
    drive(original, PLAYER_EVENTS[:cut])
    restored = Actor.restore(chart("history"), original.snapshot(), clock=clock)  # re-parsed
    assert restored.snapshot_json() == original.snapshot_json()
    for e in PLAYER_EVENTS[cut:]:
        clock.t += 1
        original.send({"type": e}, alice)
        restored.send({"type": e}, alice)
        assert restored.view(alice) == original.view(alice)
    assert restored.snapshot_json() == original.snapshot_json()


def test_restore_in_a_fresh_process(tmp_path, clock):
    original = Actor.spawn(chart("history"), "p", caller=alice, clock=clock)
    drive(original, PLAYER_EVENTS[:5])  # paused, with deep and shallow history recorded
    (tmp_path / "snap.json").write_bytes(original.snapshot_json())
    script = f"""
import sys
from actorkit import Actor, Caller, load_chart
t = [{clock.t}]
a = Actor.restore(load_chart({str(CHARTS / 'history.yaml')!r}),
                  open({str(tmp_path / 'snap.json')!r}, 'rb').read(), clock=lambda: t[0])
for e in {PLAYER_EVENTS[5:]!r}:
    a.send({{"type": e}}, Caller.client("alice"))
sys.stdout.buffer.write(a.snapshot_json())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True,
                         cwd=ROOT, env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout
    drive(original, PLAYER_EVENTS[5:])
    assert out == original.snapshot_json()


def test_restore_keeps_private_buckets_and_ids_going(clock):
    a = Actor.spawn(chart("txn"), "t", caller=alice, clock=clock)
    a.send({"type": "CLICK"}, bob)
    a.send({"type": "ID"}, alice)
    b = Actor.restore(chart("txn"), a.snapshot_json(), clock=clock)
    for x in (a, b):
        x.send({"type": "CLICK"}, bob)
        x.send({"type": "ID"}, alice)
    assert b.view(bob) == a.view(bob)
    assert b.view(bob)["private"] == {"clicks": 2}
    assert len(set(b.view(alice)["public"]["log"])) == 4


@pytest.mark.parametrize(("mangle", "words"), [
    (lambda s: s.update(format=99), "unknown snapshot format 99"),
    (lambda s: s["actor"].update(type="todo"), "is of a 'todo' actor, but the chart is 'txn'"),
    (lambda s: s["actor"].update(version=7), "version 7 of chart 'txn', which is now version 1"),
    (lambda s: s.update(configuration=["root", "gone"]), "state 'gone'"),
    (lambda s: s.pop("context"), "malformed"),
])
def test_a_snapshot_that_does_not_fit_is_refused(clock, mangle, words):
    snap = Actor.spawn(chart("txn"), "t", caller=alice, clock=clock).snapshot()
    mangle(snap)
    with pytest.raises(SnapshotError, match=words):
        Actor.restore(chart("txn"), snap)


def test_garbage_is_refused():
    with pytest.raises(SnapshotError, match="not valid JSON"):
        Actor.restore(chart("txn"), b"{nope")
    with pytest.raises(SnapshotError, match="JSON object"):
        Actor.restore(chart("txn"), "[1, 2]")


# -- plain sismic charts ---------------------------------------------------------------------

KETTLE = [("switch_on", 0), (None, 1), (None, 1.5), ("switch_off", 0.1), ("switch_on", 0),
          (None, 2), (None, 2), (None, 2), ("whistle", 0), ("cool", 1), ("switch_on", 3),
          (None, 2.5)]


def test_a_plain_sismic_chart_runs_as_under_sismic(clock):
    """Inline code, preamble, after(), active(), send() and contracts: the actor and sismic's
    own interpreter go through the same states with the same variables."""
    kettle = chart("kettle")
    actor = Actor.spawn(kettle, "k", caller=alice, clock=clock)
    plain = Interpreter(import_from_dict({"statechart": kettle.source.data["statechart"]}),
                        clock=SimulatedClock())
    plain.clock.time = clock.t
    plain.execute()
    for event, wait in KETTLE:
        clock.t += wait
        plain.clock.time = clock.t
        if event in ("switch_on", "switch_off", "cool"):
            actor.send({"type": event}, alice)
            plain.queue(event)
        else:
            actor.advance()
        plain.execute()
        assert actor.configuration == plain.configuration
        context = {k: v for k, v in actor.context.items() if k not in ("public", "private")}
        assert context == dict(plain.context)


def test_the_preamble_runs_once_not_on_restore(clock):
    actor = Actor.spawn(chart("kettle"), "k", caller=alice, clock=clock)
    actor.send({"type": "switch_on"}, alice)
    clock.t += 10
    actor.advance()
    assert actor.context["temperature"] > 20
    restored = Actor.restore(chart("kettle"), actor.snapshot(), clock=clock)
    assert restored.context["temperature"] == actor.context["temperature"]


def test_contract_old_values_survive_a_restore(clock):
    kettle = chart("kettle")
    actor = Actor.spawn(kettle, "k", caller=alice, clock=clock)
    actor.send({"type": "switch_on"}, alice)
    clock.t += 10
    actor.advance()
    assert actor.value == "boiled"
    restored = Actor.restore(chart("kettle"), actor.snapshot(), clock=clock)
    for x in (actor, restored):
        # leaving `boiled` checks its `after` contract against __old__, taken at its entry
        x.send({"type": "cool"}, Caller.client("c"))
    assert restored.snapshot_json() == actor.snapshot_json()


GRID = """\
actor: grid
schemas: schemas/grid.yaml
statechart:
  name: grid
  preamble: |
    grid = [[0, 0], [0, 0]]
  root state:
    name: root
    transitions:
      - event: mark
        action: grid[0][0] += 1
        contract:
          - after: grid[0][0] == __old__.grid[0][0] + 1
"""


def test_contract_old_values_are_the_context_before_a_change_in_place(tmp_path, clock):
    """__old__ holds nested values as they were (sismic copies each variable shallowly, so
    __old__.grid[0] was the very row the action changed, and the postcondition failed)."""
    (tmp_path / "grid.yaml").write_text(GRID)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "grid.yaml").write_text("client:\n  mark: {}\n")
    grid = load_chart(tmp_path / "grid.yaml")
    actor = Actor.spawn(grid, "g", caller=alice, clock=clock)
    actor.send({"type": "mark"}, alice)
    restored = Actor.restore(grid, actor.snapshot(), clock=clock)
    for x in (actor, restored):
        x.send({"type": "mark"}, alice)
        assert x.context["grid"] == [[2, 0], [0, 0]]
    assert restored.snapshot_json() == actor.snapshot_json()


def test_restored_actor_uses_its_own_clock(clock):
    a = Actor.spawn(chart("history"), "p", caller=alice, clock=clock)
    b = Actor.restore(load_chart(CHARTS / "history.yaml"), a.snapshot(),
                      clock=FakeClock(clock.t + 50))
    b.send({"type": "MODE"}, alice)
    assert b.time == clock.t + 50
