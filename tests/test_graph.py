"""``actorkit graph``: the chart as a graph model (actorkit.graph), drawn as Mermaid and
Graphviz DOT, with a configuration or a coverage file highlighted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from actorkit import load_chart
from actorkit.graph import graph

ROOT = Path(__file__).resolve().parent.parent


def states(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of a model's tree by name."""
    found = {node["name"]: node}
    for child in node["children"]:
        found.update(states(child))
    return found


def test_the_model_nests_states_with_their_kinds_and_lists_transitions_by_kind():
    model = graph(load_chart(ROOT / "tests" / "charts" / "history.yaml"))
    json.dumps(model)  # JSON as it is
    by_name = states(model["root"])
    assert [c["name"] for c in by_name["on"]["children"]] == ["main", "paused"]
    assert by_name["on"]["kind"] == "compound" and by_name["on"]["initial"] == "main"
    assert by_name["playing"]["kind"] == "parallel"
    assert [c["name"] for c in by_name["playing"]["children"]] == ["audio", "deck"]
    assert by_name["track.H"]["kind"] == "shallow-history"
    assert by_name["main.H*"]["kind"] == "deep-history"
    assert by_name["stereo"]["kind"] == "basic"
    resume = next(t for t in model["transitions"] if t["event"] == "PLAY")
    assert resume == {"key": "paused -> main.H* on PLAY#0", "source": "paused", "index": 0,
                      "target": "main.H*", "event": "PLAY", "guard": None, "action": None,
                      "priority": 0, "kind": "event", "line": resume["line"]}
    lines = (ROOT / "tests" / "charts" / "history.yaml").read_text().splitlines()
    assert "PLAY" in lines[resume["line"] - 1]


def test_eventless_timer_and_internal_transitions_are_told_apart():
    auction = graph(load_chart(ROOT / "charts" / "auction.yaml"))
    kinds = {t["key"]: t["kind"] for t in auction["transitions"]}
    assert kinds["Hammer -> Unsold on #1"] == "eventless"
    assert kinds["Watched -> Watched on CONNECT#0"] == "internal"
    assert kinds["GoingOnce -> GoingOnce on PRICE_CHANGED#0"] == "event"  # leaves and re-enters
    assert states(auction["root"])["Sold"]["kind"] == "final"
    timers = graph(load_chart(ROOT / "tests" / "charts" / "timers.yaml"))
    by_key = {t["key"]: t for t in timers["transitions"]}
    assert by_key["open -> closed on #0"]["kind"] == "timer"
    assert by_key["on -> off on #1"]["guard"] == "idle(5)"
    assert by_key["on -> off on #1"]["kind"] == "timer"
