"""``actorkit graph``: the chart as a graph model (actorkit.graph), drawn as Mermaid and
Graphviz DOT, with a configuration or a coverage file highlighted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import debian
import mermaid
import pytest
from support import FakeClock, alice, run_actorkit

from actorkit import Actor, load_chart
from actorkit.graph import active_states, graph, label, to_dot, to_mermaid

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
#: the charts under semantics: scxml: those of tests/test_scxml.py and those drawn here
SCXML = ROOT / "tests"
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
    parallel regions, final states, timers, eventless and internal transitions), those under
    semantics: scxml (several targets, history in a parallel state) and sismic's."""
    tmp = tmp_path_factory.mktemp("sismic")
    files = {str(p.relative_to(ROOT)): p for p in [*sorted((ROOT / "charts").glob("*.yaml")),
                                                     *sorted((ROOT / "tests" / "charts")
                                                             .glob("*.yaml")),
                                                     *sorted(SCXML.glob("*/charts/*.yaml"))]}
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


def test_transition_keys_count_each_transition_in_sismics_order(models, tmp_path):
    # The coverage counter names the transitions sismic fires by their place among their
    # source's in sismic's statechart: the model's keys must be the same names.
    for name, model in models.items():
        chart = load_chart(ROOT / name) if not name.startswith("sismic/") else \
            load_chart(sismic_chart(tmp_path, SISMIC / name.removeprefix("sismic/")))
        sc = chart.statechart
        assert {t["key"] for t in model["transitions"]} == {
            f"{t.source} -> {t.target or t.source} on {t.event or ''}#{i}"
            for state in sc.states for i, t in enumerate(sc.transitions_from(state))}, name


#: Look-alikes Mermaid's labels get for its syntax characters, read back
_READ_BACK = str.maketrans({"\ufe54": ";", "\uff1c": "<", "\uff1e": ">", "\uff02": '"',
                            "\u2216": "\\", "\u204e": "*"})


def shown(texts: list[str]) -> set[str]:
    return {t.translate(_READ_BACK) for t in texts}


def nested(model: dict[str, Any], source: str, target: str) -> bool:
    """Whether one end of a transition holds the other, or it loops on a state holding
    others: Mermaid lists these in the source state, as it lists internal ones."""
    by_name = states(model["root"])
    if source == target:
        return bool(by_name[source]["children"])
    return target in states(by_name[source]) or source in states(by_name[target])


def targets(t: dict[str, Any]) -> list[str]:
    """Every target of a transition (several only under semantics: scxml)."""
    return t.get("targets") or [t["target"]]


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
            for target in targets(t) if t["target"] is not None else [None]:
                text = f"↺ {label(t)}" if target is None else \
                    f"{label(t)} → {target}" if nested(model, t["source"], target) \
                    else label(t)
                if text not in seen:
                    missing.append((name, text))
    assert not missing


SVG = "{http://www.w3.org/2000/svg}"


def test_highlights_render_in_mermaid(tmp_path):
    auction = graph(load_chart(ROOT / AUCTION))
    coverage = {"states": {"Auction": 1, "Room": 1, "Lot": 1, "Draft": 1},
                "transitions": {"Draft -> Live on OPEN#0": 1}}
    result, = mermaid.render([to_mermaid(auction, active_states(auction, BIDDING), coverage)],
                             tmp_path)
    assert "error" not in result, result["error"]
    classes = {state: re.findall(rf'<g class="node ([a-zA-Z]+) [^"]*" id="[^"]*-state-{state}-',
                                 result["svg"]) for state in ("Bidding", "Draft", "Paused")}
    assert classes == {"Bidding": ["active"], "Draft": ["reached"], "Paused": ["unreached"]}
    assert "OPEN / open_auction · 1 time" in mermaid.texts_of(result["svg"])


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


# -- actorkit graph ----------------------------------------------------------------------------

AUCTION = "charts/auction.yaml"
#: the state value GET /api/auction/ID shows while bids are taken and someone watches
BIDDING = '{"Room": {"Lot": {"Live": "Bidding"}, "Presence": "Watched"}}'
YELLOW, GREEN, RED, WHITE = "#ffd54f", "#c8e6c9", "#ffcdd2", "white"


def fills(svg: bytes) -> dict[str, str]:
    """Each state box of a Graphviz SVG: its name (its first text) -> its fill colour."""
    found = {}
    for group in ElementTree.fromstring(svg).iter(f"{SVG}g"):
        texts = [t.text for t in group.iter(f"{SVG}text") if t.text]
        shapes = [s for s in group if s.tag in (f"{SVG}path", f"{SVG}polygon")]
        if group.get("class") == "node" and texts and shapes:
            found[texts[0]] = shapes[0].get("fill", "")
    return found


def test_graph_prints_mermaid_by_default():
    run = run_actorkit("graph", AUCTION)
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == to_mermaid(graph(load_chart(ROOT / AUCTION)))
    assert "Draft --> Live : OPEN / open_auction" in run.stdout


def test_graph_svg_highlights_the_state_a_get_shows(tmp_path):
    debian.ensure("dot", "graphviz")
    run = run_actorkit("graph", AUCTION, "--format", "svg", "--state", BIDDING,
                       "-o", tmp_path / "auction.svg")
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    colours = fills((tmp_path / "auction.svg").read_bytes())
    assert colours["Bidding"] == colours["Watched"] == YELLOW
    assert colours["Draft"] == colours["GoingOnce"] == colours["Empty"] == WHITE
    # the same, named
    named = run_actorkit("graph", AUCTION, "--format", "dot", "--state", "Bidding, Watched")
    assert named.returncode == 0
    assert named.stdout == to_dot(graph(load_chart(ROOT / AUCTION)),
                                  active=active_states(graph(load_chart(ROOT / AUCTION)),
                                                       BIDDING))


def test_graphviz_puts_parallel_regions_in_the_charts_order():
    dot = debian.ensure("dot", "graphviz")
    for chart, regions in [("charts/auction.yaml", ["Lot", "Presence"]),
                           ("tests/charts/history.yaml", ["audio", "deck"])]:
        svg = subprocess.run([dot, "-Tsvg"], input=to_dot(graph(load_chart(ROOT / chart))),
                             capture_output=True, text=True, timeout=60, check=True).stdout
        where = {t.text: float(t.get("x", "0"))
                 for t in ElementTree.fromstring(svg).iter(f"{SVG}text")}
        assert sorted(regions, key=where.__getitem__) == regions, chart


def coverage_file(tmp_path: Path, counts: dict[str, Any]) -> Path:
    file = tmp_path / "coverage.json"
    file.write_text(json.dumps({"charts": counts}))
    return file


def test_graph_colours_what_a_coverage_file_reached(tmp_path):
    debian.ensure("dot", "graphviz")
    file = coverage_file(tmp_path, {"auction": {
        "states": {"Auction": 4, "Room": 4, "Lot": 4, "Draft": 4, "Live": 2, "Bidding": 2,
                   "Presence": 4, "Empty": 4, "Cancelled": 0},
        "transitions": {"Draft -> Live on OPEN#0": 2, "Watched -> Watched on CONNECT#0": 0}}})
    run = subprocess.run([sys.executable, "-m", "actorkit", "graph", AUCTION, "--format", "svg",
                          "--coverage", file], cwd=ROOT, capture_output=True, timeout=120)
    assert (run.returncode, run.stderr) == (0, b"")
    colours = fills(run.stdout)
    assert colours["Draft"] == colours["Bidding"] == colours["Empty"] == GREEN
    assert colours["Cancelled"] == colours["GoingOnce"] == colours["Watched"] == RED
    texts = svg_texts(run.stdout)
    assert "/ open_auction · 2 times" in texts
    assert "↺ CONNECT / add_watcher · never" in texts


def test_graph_json_is_the_model_with_the_highlights(tmp_path):
    file = coverage_file(tmp_path, {"auction": {"states": {"Draft": 1}}, "todo": {}})
    run = run_actorkit("graph", AUCTION, "--format", "json", "--state", "Draft",
                       "--coverage", file)
    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert shown.pop("active") == ["Auction", "Draft", "Lot", "Room"]
    assert shown.pop("coverage") == {"states": {"Draft": 1}, "transitions": {}}
    assert shown == graph(load_chart(ROOT / AUCTION))


@pytest.mark.parametrize(("args", "message"), [
    (["--state", "Biding"], "the chart has no state 'Biding': did you mean 'Bidding'?"),
    (["--state", '{"Room": {"Lot": "Live", "Chat": {}}}'],
     "'Chat' is not a state directly inside 'Room' (its states: Lot, Presence)"),
    (["--coverage", "missing.json"], "cannot read the coverage file missing.json"),
])
def test_graph_refuses_a_state_or_coverage_file_that_is_not_the_charts(args, message):
    run = run_actorkit("graph", AUCTION, *args)
    assert (run.returncode, run.stdout) == (2, "")
    assert message in run.stderr


def test_graph_refuses_a_coverage_file_of_another_chart_or_version(tmp_path):
    other = coverage_file(tmp_path, {"todo": {"states": {"Ready": 3}}})
    run = run_actorkit("graph", AUCTION, "--coverage", other)
    assert run.returncode == 2
    assert "no counts for the actor type 'auction' (it has todo)" in run.stderr
    stale = coverage_file(tmp_path, {"auction": {"transitions": {"Draft -> Open on OPEN#0": 1}}})
    run = run_actorkit("graph", AUCTION, "--coverage", stale)
    assert run.returncode == 2
    assert "'Draft -> Open on OPEN#0'): it was made for another version of the chart" \
        in run.stderr


def test_graph_of_a_chart_with_errors_prints_its_diagnostics():
    broken = "tests/lint/fixtures/ak203_unknown_target.yaml"
    run = run_actorkit("graph", broken)
    assert (run.returncode, run.stdout) == (1, "")
    assert f"{broken}:12:21: AK203 transition targets unknown state 'runing'" in run.stderr
    assert f"fix them first (actorkit lint {broken})" in run.stderr
    missing = run_actorkit("graph", "charts/nope.yaml")
    assert missing.returncode == 2
    assert "no chart file charts/nope.yaml" in missing.stderr


def test_graph_svg_without_graphviz_says_how_to_install_it(tmp_path):
    # a PATH on which there is no dot program: as on a machine without Graphviz
    run = subprocess.run([sys.executable, "-m", "actorkit", "graph", AUCTION, "--format", "svg"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PATH": str(tmp_path)})
    assert (run.returncode, run.stdout) == (2, "")
    assert "apt-get install graphviz" in run.stderr and "brew install graphviz" in run.stderr


def test_the_readme_shows_what_actorkit_graph_prints():
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## See your chart"):readme.index("## Property testing")]
    shown = re.search(r"```mermaid\n(.*?)```", section, re.S)
    assert shown is not None
    assert shown.group(1) == run_actorkit("graph", "charts/todo.yaml").stdout
    assert f"--state '{BIDDING}'" in section  # the value the test above highlights
    auction = graph(load_chart(ROOT / AUCTION))
    assert "Draft -> Live on OPEN#0" in {t["key"] for t in auction["transitions"]}


# -- charts under semantics: scxml (tests/graph/charts) ----------------------------------------

DRAWN = ROOT / "tests" / "graph" / "charts"


def drawn(name: str) -> dict[str, Any]:
    return graph(load_chart(DRAWN / f"{name}.yaml"))


def spawned(name: str, *events: str) -> Actor:
    """An actor of the chart ``name`` sent ``events``: what the chart does."""
    actor = Actor.spawn(load_chart(DRAWN / f"{name}.yaml"), "a", caller=alice, clock=FakeClock())
    for event in events:
        actor.send({"type": event}, alice)
    return actor


def arrows(svg: bytes) -> list[tuple[str, str, str]]:
    """The arrows of a Graphviz SVG as ``(from, to, label)``, each end named by the state it
    shows (an arrow to or from a box around states ends at a point inside that box)."""
    root = ElementTree.fromstring(svg)
    names = {}
    for group in root.iter(f"{SVG}g"):
        title, text = group.find(f"{SVG}title"), next(group.iter(f"{SVG}text"), None)
        if group.get("class") in ("node", "cluster") and title is not None and text is not None:
            names[str(title.text).removeprefix("cluster_")] = str(text.text)
    found = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "edge":
            ends = str(group.find(f"{SVG}title").text).split("->")
            ends = [re.sub(r"_(start|anchor)$", "", end) for end in ends]
            texts = [str(t.text) for t in group.iter(f"{SVG}text") if t.text]
            found.append((names[ends[0]], names[ends[1]], " ".join(texts)))
    return found


def block(mermaid_text: str, state: str) -> list[str]:
    """The lines of Mermaid's ``state NAME {`` block, without the lines of blocks in it."""
    lines = mermaid_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"state {state} {{")
    depth, own = 0, []
    for line in lines[start + 1:]:
        if line.strip().endswith("{"):
            depth += 1
        elif line.strip() == "}":
            if depth == 0:
                return own
            depth -= 1
        elif depth == 0:
            own.append(line.strip())
    raise AssertionError(f"state {state} is not closed")


def test_a_transition_with_several_targets_is_an_arrow_to_each():
    # GO enters a2 and b2, RESET (from p, which holds them) a1 and b1
    assert spawned("targets", "GO").value == {"p": {"r1": "a2", "r2": "b2"}}
    assert spawned("targets", "GO", "RESET").value == {"p": {"r1": "a1", "r2": "b1"}}
    run = run_actorkit("graph", DRAWN / "targets.yaml")
    assert run.returncode == 0, run.stderr
    assert {"idle --> a2 : GO", "idle --> b2 : GO"} <= {line.strip()
                                                       for line in run.stdout.splitlines()}
    assert {"p__internal : RESET → a1", "p__internal : RESET → b1"} <= {
        line.strip() for line in run.stdout.splitlines()}
    debian.ensure("dot", "graphviz")
    svg = run_actorkit("graph", DRAWN / "targets.yaml", "--format", "svg").stdout.encode()
    assert {("idle", "a2", "GO"), ("idle", "b2", "GO"), ("p", "a1", "RESET"),
            ("p", "b1", "RESET")} <= set(arrows(svg))
    model = drawn("targets")
    go = next(t for t in model["transitions"] if t["event"] == "GO")
    assert (go["target"], go["targets"], go["key"]) == ("a2", ["a2", "b2"], "idle -> a2 on GO#0")


def test_coverage_colours_every_arrow_of_a_transition_with_several_targets(tmp_path):
    debian.ensure("dot", "graphviz")
    file = tmp_path / "coverage.json"
    tested = run_actorkit("test", DRAWN / "targets.yaml", "--max-examples", "10", "--seed", "1",
                          "--coverage", file)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    times = json.loads(file.read_text())["charts"]["targets"]["transitions"]["idle -> a2 on GO#0"]
    assert times > 1
    run = subprocess.run([sys.executable, "-m", "actorkit", "graph", DRAWN / "targets.yaml",
                          "--format", "dot", "--coverage", file], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=False)
    assert (run.returncode, run.stderr) == (0, "")
    go = [line for line in run.stdout.splitlines() if f'label="GO · {times} times"' in line]
    assert len(go) == 2 and all('color="#2e7d32"' in line for line in go)
    shown = run_actorkit("graph", DRAWN / "targets.yaml", "--coverage", file).stdout
    assert shown.count(f": GO · {times} times") == 2


def test_a_history_state_in_a_parallel_state_is_no_region(tmp_path):
    # BACK resumes both regions of p where they were
    assert spawned("entries", "GO", "NEXT", "OUT", "NEXT", "BACK").value == \
        {"p": {"r1": "a2", "r2": "b2"}}
    shown = run_actorkit("graph", DRAWN / "entries.yaml").stdout
    # in p: the H* and a box of the regions beside it, the regions split by one --
    assert block(shown, "p") == ['state "H*" as ph']
    assert 'state "regions of p" as p__regions {' in shown
    assert block(shown.replace('state "regions of p" as p__regions', "state p__regions"),
                 "p__regions") == ["--"]
    assert "s --> ph : BACK" in shown
    result, = mermaid.render([shown], tmp_path)
    assert "error" not in result, result["error"]
    debian.ensure("dot", "graphviz")
    svg = run_actorkit("graph", DRAWN / "entries.yaml", "--format", "svg").stdout
    # in Graphviz the H* is a circle in p, beside the dashed boxes of its two regions
    assert svg.count('stroke-dasharray="5,2"') == 4  # r1, r2 and m, n of q


def test_a_compound_state_without_initial_starts_at_its_first_child():
    assert spawned("entries").value == "first"
    shown = run_actorkit("graph", DRAWN / "entries.yaml").stdout.splitlines()
    assert shown[shown.index('    state "root" as s_root {') + 1] == "        [*] --> first"
    debian.ensure("dot", "graphviz")
    svg = run_actorkit("graph", DRAWN / "entries.yaml", "--format", "svg").stdout.encode()
    assert ("root", "first", "") in arrows(svg)
    model = drawn("entries")
    assert (model["root"]["initial"], model["root"]["initials"]) == ("first", ["first"])


def test_an_initial_list_points_at_every_state_it_names():
    assert spawned("entries", "NEXT").value == {"s": {"q": {"m": "m2", "n": "n2"}}}
    shown = run_actorkit("graph", DRAWN / "entries.yaml").stdout
    assert block(shown, "s") == ["[*] --> m2", "[*] --> n2"]
    debian.ensure("dot", "graphviz")
    svg = run_actorkit("graph", DRAWN / "entries.yaml", "--format", "svg").stdout.encode()
    assert {("s", "m2", ""), ("s", "n2", "")} <= set(arrows(svg))
    model = drawn("entries")
    s = states(model["root"])["s"]
    assert (s["initial"], s["initials"]) == ("m2", ["m2", "n2"])


def test_an_internal_transition_to_a_state_inside_is_listed_in_its_source_not_as_a_loop():
    # INNER stays in box, OUTER leaves and enters it again: both end in y
    assert spawned("internal", "INNER").value == {"box": "y"}
    shown = run_actorkit("graph", DRAWN / "internal.yaml").stdout
    assert {"box__internal : INNER → y", "box__internal : ↺ TICK"} <= {
        line.strip() for line in shown.splitlines()}
    debian.ensure("dot", "graphviz")
    svg = run_actorkit("graph", DRAWN / "internal.yaml", "--format", "svg").stdout.encode()
    texts = svg_texts(svg)
    assert "INNER → y" in texts and "↺ TICK" in texts and "↺ INNER" not in texts
    edges = arrows(svg)
    assert ("box", "y", "OUTER") in edges and not any(e[2] == "INNER" for e in edges)
    model = drawn("internal")
    by_event = {t["event"]: t for t in model["transitions"]}
    assert (by_event["INNER"]["type"], by_event["INNER"]["kind"]) == ("internal", "event")
    assert (by_event["OUTER"]["type"], by_event["TICK"]["kind"]) == ("external", "internal")


def test_done_and_descriptor_events_label_their_transitions_as_written():
    model = drawn("internal")
    assert [label(t) for t in model["transitions"] if t["target"] in ("failed", "over", "box")
            ] == ["error.*", "done.state.box", "*"]
    shown = run_actorkit("graph", DRAWN / "internal.yaml").stdout
    assert {"box --> failed : error.*", "box --> s_over : done.state.box",
            "failed --> box : *"} <= {line.strip() for line in shown.splitlines()}
