"""``actorkit graph``: the chart as a graph model (actorkit.graph), drawn as Mermaid and
Graphviz DOT, with a configuration or a coverage file highlighted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import debian
import mermaid
import pytest

from actorkit import load_chart
from actorkit.graph import graph, label, to_dot, to_mermaid

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


# -- every chart renders, in a real Mermaid and a real Graphviz ----------------------------------

SISMIC = ROOT / "tests" / "sismic"
#: sismic's charts that lint refuses (see test_sismic_charts): nothing to draw
REFUSED = {"tests/yaml/parallel.yaml", "tests/yaml/nondeterministic.yaml"}


def sismic_chart(tmp: Path, source: Path) -> Path:
    """A sismic chart, unchanged, under the two lines that make it an actor type."""
    schemas = source.with_name(source.stem + ".schemas.yaml")
    name = "".join(c if c.isalnum() else "-" for c in source.stem.lower())
    file = tmp / f"{name}.yaml"
    file.write_text(f"actor: {name}\nschemas: {schemas}\n" + source.read_text("utf-8"), "utf-8")
    return file


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The model of every chart the project has: the shipped ones, the test charts (history,
    parallel regions, final states, timers, eventless and internal transitions) and sismic's."""
    tmp = tmp_path_factory.mktemp("sismic")
    files = {str(p.relative_to(ROOT)): p for p in [*sorted((ROOT / "charts").glob("*.yaml")),
                                                     *sorted((ROOT / "tests" / "charts")
                                                             .glob("*.yaml"))]}
    for p in sorted(SISMIC.rglob("*.yaml")):
        chart = str(p.relative_to(SISMIC))
        if not p.name.endswith(".schemas.yaml") and chart not in REFUSED:
            files[f"sismic/{chart}"] = sismic_chart(tmp, p)
    return {name: graph(load_chart(file)) for name, file in files.items()}


def test_the_charts_drawn_have_every_kind_of_state_and_transition(models):
    kinds = {s["kind"] for m in models.values() for s in states(m["root"]).values()}
    assert kinds == {"basic", "compound", "parallel", "final", "shallow-history",
                     "deep-history"}
    assert {t["kind"] for m in models.values() for t in m["transitions"]} == {
        "event", "eventless", "timer", "internal"}
    assert {"charts/todo.yaml", "charts/auction.yaml"} <= set(models)


#: Look-alikes Mermaid's labels get for its syntax characters, read back
_READ_BACK = str.maketrans({"\ufe54": ";", "\uff1c": "<", "\uff1e": ">", "\uff02": '"',
                            "\u2216": "\\", "\u204e": "*"})


def shown(texts: list[str]) -> set[str]:
    return {t.translate(_READ_BACK) for t in texts}


def nested(model: dict[str, Any], t: dict[str, Any]) -> bool:
    """Whether one end of a transition holds the other, or it loops on a state holding
    others: Mermaid lists these in the source state, as it lists internal ones."""
    by_name = states(model["root"])
    if t["source"] == t["target"]:
        return bool(by_name[t["source"]]["children"])
    return t["target"] in states(by_name[t["source"]]) or \
        t["source"] in states(by_name[t["target"]])


def test_every_chart_renders_in_mermaid_with_its_states_and_labels(models, tmp_path):
    names = sorted(models)
    results = mermaid.render([to_mermaid(models[n]) for n in names], tmp_path)
    missing = []
    for name, result in zip(names, results, strict=True):
        assert "error" not in result, f"{name}: {result['error']}"
        seen = shown(mermaid.texts_of(result["svg"]))
        model = models[name]
        for state in states(model["root"]).values():
            expected = {"shallow-history": "H", "deep-history": "H*"}.get(state["kind"],
                                                                           state["name"])
            if expected not in seen:
                missing.append((name, expected))
        for t in model["transitions"]:
            text = f"↺ {label(t)}" if t["target"] is None else \
                f"{label(t)} → {t['target']}" if nested(model, t) else label(t)
            if text not in seen:
                missing.append((name, text))
    assert not missing


SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(svg: bytes) -> list[str]:
    """The texts a Graphviz SVG shows (it must be well-formed XML)."""
    return [t.text for t in ElementTree.fromstring(svg).iter(f"{SVG}text") if t.text]


def test_every_chart_renders_in_graphviz_without_a_warning(models):
    dot = debian.ensure("dot", "graphviz")
    for name, model in sorted(models.items()):
        done = subprocess.run([dot, "-Tsvg"], input=to_dot(model).encode(), capture_output=True,
                              timeout=60, check=False)
        assert done.returncode == 0 and not done.stderr, f"{name}: {done.stderr.decode()}"
        texts = svg_texts(done.stdout)
        for state in states(model["root"]).values():
            shown = {"shallow-history": "H", "deep-history": "H*"}.get(state["kind"],
                                                                        state["name"])
            assert shown in texts, f"{name}: state {state['name']} is not drawn"
        for t in model["transitions"]:
            head = label(t).partition(" / ")[0]
            assert any(x.startswith((head, f"↺ {head}")) for x in texts), \
                f"{name}: {label(t)!r} is not drawn"
