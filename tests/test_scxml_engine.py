"""The twin of test_engine.py's differential test, for ``semantics: scxml``: random charts
(nesting, parallel states, history in compound and parallel states, guards, eventless
transitions, internal events, time, several targets, internal transitions, descriptors, done
events) run by real actors, restored from their snapshot before every event, and by
:class:`Reference` below, a plain, unoptimised transcription of the W3C SCXML recommendation's
Appendix D pseudo-code, compared after every event (configuration and context)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from support import FakeClock, alice

from actorkit import Actor, StepError, load_chart

EVENTS = ["a", "b", "c"]
GUARDS = [None, None, "x % 2 == 0", "x < 4", "after(1)", "idle(2)", "active('s1')"]
ACTIONS = [None, None, "x += 1", "x -= 1", "send('c')", "y.append(x)"]
LOOP = 2000  # microsteps the reference takes before it calls an event a loop


@st.composite
def charts(draw: st.DrawFn) -> dict[str, Any]:
    counter = iter(range(1000))
    kinds: dict[str, str] = {}
    parents: dict[str, str | None] = {}

    def state(depth: int, parent: str | None) -> dict[str, Any]:
        name = f"s{next(counter)}"
        parents[name] = parent
        node: dict[str, Any] = {"name": name}
        kind = draw(st.sampled_from(["atomic", "atomic", "compound", "parallel"])
                    if 0 < depth < 3 else st.just("compound" if depth == 0 else "atomic"))
        kinds[name] = kind
        if kind == "atomic":
            if depth > 0 and draw(st.integers(0, 3)) == 0:
                node["type"] = kinds[name] = "final"
            return node
        children = [state(depth + 1, name) for _ in range(draw(st.integers(1, 3)))]
        node["parallel states" if kind == "parallel" else "states"] = children
        if kind == "compound" and draw(st.booleans()):
            node["initial"] = children[-1]["name"]  # else SCXML's default, the first child
        if draw(st.integers(0, 2)) == 0:
            deep = draw(st.booleans())
            below = _below(children) if deep else [c["name"] for c in children]
            history = {"name": f"{name}.H", "type": "deep history" if deep else
                       "shallow history", "memory": draw(st.sampled_from(below))}
            parents[history["name"]] = name
            kinds[history["name"]] = "history"
            children.insert(draw(st.integers(0, len(children))), history)
        return node

    root = state(0, None)
    names = list(kinds)

    def region_pair() -> list[str] | None:
        """Two states in different regions of one parallel state, if there is one."""
        for p in names:
            if kinds[p] != "parallel":
                continue
            regions = [n for n in names if parents[n] == p and kinds[n] != "history"]
            if len(regions) >= 2:
                a, b = regions[:2]
                pick_a = [n for n in names if _under(n, a, parents)]
                pick_b = [n for n in names if _under(n, b, parents)]
                return [draw(st.sampled_from(pick_a)), draw(st.sampled_from(pick_b))]
        return None

    histories = [n for n in names if kinds[n] == "history"]
    done = [f"done.state.{n}" for n in names if kinds[n] in ("compound", "parallel")]

    def add_transitions(node: dict[str, Any]) -> None:
        if node.get("type") is None:
            ts = []
            for _ in range(draw(st.integers(0, 3))):
                t: dict[str, Any] = {}
                event = draw(st.sampled_from([*EVENTS, "a b", "*", "done.state", *done, None]))
                guard = draw(st.sampled_from(GUARDS))
                if event is None:
                    # eventless transitions need a guard that turns false, or they loop forever
                    guard = "x < 3"
                    t["action"] = "x += 1"
                else:
                    t["event"] = event
                    action = draw(st.sampled_from(ACTIONS))
                    if action:
                        t["action"] = action
                if guard:
                    t["guard"] = guard
                shape = draw(st.integers(0, 9))
                if shape < 5:
                    t["target"] = draw(st.sampled_from(names))
                elif shape < 6 and histories:
                    t["target"] = draw(st.sampled_from(histories))
                elif shape < 7:
                    pair = region_pair()
                    if pair is not None:
                        t["target"] = pair
                if "target" in t and draw(st.integers(0, 3)) == 0:
                    t["type"] = "internal"
                ts.append(t)
            if ts:
                node["transitions"] = ts
        for child in node.get("states", []) + node.get("parallel states", []):
            add_transitions(child)

    add_transitions(root)
    return {"actor": "random", "semantics": "scxml", "schemas": "schemas.yaml",
            "context": {"x": 0, "y": []},
            "statechart": {"name": "random", "root state": root}}


def _below(nodes: list[dict[str, Any]]) -> list[str]:
    out = []
    for n in nodes:
        if "history" not in n.get("type", ""):
            out.append(n["name"])
            out.extend(_below(n.get("states", []) + n.get("parallel states", [])))
    return out


def _under(name: str, of: str, parents: dict[str, str | None]) -> bool:
    """Whether ``name`` is ``of`` or below it (and no history state)."""
    if name.endswith(".H"):
        return False
    at: str | None = name
    while at is not None:
        if at == of:
            return True
        at = parents[at]
    return False


class Reference:
    """Appendix D of https://www.w3.org/TR/scxml/, function by function, on the chart's
    data; time as sismic keeps it (``after()`` since the source state's entry, ``idle()``
    since its last transition or entry)."""

    def __init__(self, chart: dict[str, Any]) -> None:
        self.parent: dict[str, str | None] = {}
        self.node: dict[str, dict[str, Any]] = {}
        self.doc: list[str] = []
        self.transitions: list[dict[str, Any]] = []

        def walk(node: dict[str, Any], parent: str | None) -> None:
            self.node[node["name"]] = node
            self.parent[node["name"]] = parent
            self.doc.append(node["name"])
            for child in node.get("states", []) + node.get("parallel states", []):
                walk(child, node["name"])

        walk(chart["statechart"]["root state"], None)
        for name in self.doc:
            for t in self.node[name].get("transitions", []):
                target = t.get("target")
                self.transitions.append({
                    "source": name, "event": t.get("event"), "cond": t.get("guard"),
                    "action": t.get("action"), "type": t.get("type", "external"),
                    "target": target if isinstance(target, list) else
                    [] if target is None else [target]})
        self.root = self.doc[0]
        self.configuration: set[str] = set()
        self.history_value: dict[str, list[str]] = {}
        self.internal_queue: list[str] = []
        self.data: dict[str, Any] = copy.deepcopy(chart["context"])
        self.entry: dict[str, float] = {}
        self.idle: dict[str, float] = {}
        self.now = 0.0
        self.running = True
        self.state: str | None = None  # whose guard or action runs (for after() and idle())

    # -- the tree --------------------------------------------------------------------------------

    def kind(self, s: str) -> str:
        n = self.node[s]
        t = n.get("type", "")
        if "history" in t:
            return "history"
        if t == "final":
            return "final"
        if "parallel states" in n:
            return "parallel"
        return "compound" if n.get("states") else "atomic"

    def is_atomic(self, s: str) -> bool:
        return self.kind(s) in ("atomic", "final")

    def child_states(self, s: str) -> list[str]:
        return [c for c in self.doc if self.parent[c] == s and self.kind(c) != "history"]

    def proper_ancestors(self, s: str, stop: str | None) -> list[str]:
        out, p = [], self.parent[s]
        while p is not None and p != stop:
            out.append(p)
            p = self.parent[p]
        return out

    def is_descendant(self, s: str, of: str | None) -> bool:
        return of is None or of in self.proper_ancestors(s, None)

    def initial(self, s: str) -> list[str]:
        given_ = self.node[s].get("initial")
        return [given_] if given_ else self.child_states(s)[:1]

    def history_default(self, h: str) -> list[str]:
        memory = self.node[h]["memory"]
        return memory if isinstance(memory, list) else [memory]

    # -- the code ----------------------------------------------------------------------------

    def run_code(self, code: str | None, source: str, *, guard: bool = False) -> Any:
        if code is None:
            return True

        def after(seconds: float) -> bool:
            return self.now - self.entry[source] >= seconds

        def idle(seconds: float) -> bool:
            return self.now - self.idle[source] >= seconds

        env = {"after": after, "idle": idle, "active": lambda s: s in self.configuration,
               "send": lambda e: self.internal_queue.append(e)}
        if guard:
            return eval(code, env, self.data)
        exec(code, env, self.data)
        return None

    # -- Appendix D --------------------------------------------------------------------------

    def start(self) -> None:
        self.enter_states([{"source": None, "target": [self.root], "type": "external"}])
        self.settle()

    def send(self, event: str, now: float) -> None:
        self.now = now
        if not self.running:
            return
        enabled = self.select_transitions(event)
        if enabled:
            self.microstep(enabled)
        self.settle()

    def settle(self) -> None:
        steps = 0
        while self.running:
            enabled = self.select_transitions(None)
            if not enabled:
                if not self.internal_queue:
                    break
                enabled = self.select_transitions(self.internal_queue.pop(0))
            if enabled:
                self.microstep(enabled)
            steps += 1
            if steps > LOOP:
                raise RecursionError("an event loops")

    def name_match(self, descriptors: str, name: str) -> bool:
        for d in descriptors.split():
            d = d.removesuffix(".*")
            if d == "*" or d == name or name.startswith(d + "."):
                return True
        return False

    def select_transitions(self, event: str | None) -> list[dict[str, Any]]:
        enabled: list[dict[str, Any]] = []
        atomic = [s for s in self.doc if s in self.configuration and self.is_atomic(s)]
        for state in atomic:
            for s in [state, *self.proper_ancestors(state, None)]:
                found = False
                for t in [t for t in self.transitions if t["source"] == s]:
                    if (t["event"] is None) != (event is None):
                        continue
                    if event is not None and not self.name_match(t["event"], event):
                        continue
                    if self.run_code(t["cond"], s, guard=True):
                        if t not in enabled:
                            enabled.append(t)
                        found = True
                        break
                if found:
                    break
        return self.remove_conflicting_transitions(enabled)

    def remove_conflicting_transitions(self, enabled: list[dict[str, Any]],
                                       ) -> list[dict[str, Any]]:
        filtered: list[dict[str, Any]] = []
        for t1 in enabled:
            preempted = False
            to_remove = []
            for t2 in filtered:
                if self.compute_exit_set([t1]) & self.compute_exit_set([t2]):
                    if self.is_descendant(t1["source"], t2["source"]):
                        to_remove.append(t2)
                    else:
                        preempted = True
                        break
            if not preempted:
                filtered = [t for t in filtered if t not in to_remove]
                filtered.append(t1)
        return filtered

    def microstep(self, enabled: list[dict[str, Any]]) -> None:
        self.exit_states(enabled)
        for t in enabled:
            self.run_code(t["action"], t["source"])
            self.idle[t["source"]] = self.now
        self.enter_states(enabled)

    def exit_states(self, enabled: list[dict[str, Any]]) -> None:
        to_exit = sorted(self.compute_exit_set(enabled), key=self.doc.index, reverse=True)
        for s in to_exit:
            for h in [c for c in self.doc if self.parent[c] == s and self.kind(c) == "history"]:
                if self.node[h]["type"] == "deep history":
                    self.history_value[h] = [s0 for s0 in self.configuration
                                             if self.is_atomic(s0) and self.is_descendant(s0, s)]
                else:
                    self.history_value[h] = [s0 for s0 in self.configuration
                                             if self.parent[s0] == s]
        for s in to_exit:
            self.configuration.discard(s)

    def compute_exit_set(self, transitions: list[dict[str, Any]]) -> set[str]:
        out: set[str] = set()
        for t in transitions:
            if t["target"]:
                domain = self.get_transition_domain(t)
                out |= {s for s in self.configuration if self.is_descendant(s, domain)}
        return out

    def enter_states(self, enabled: list[dict[str, Any]]) -> None:
        to_enter: list[str] = []
        default_entry: list[str] = []
        self.compute_entry_set(enabled, to_enter, default_entry)
        for s in sorted(to_enter, key=self.doc.index):
            self.configuration.add(s)
            self.entry[s] = self.idle[s] = self.now
            if self.kind(s) == "final":
                parent = self.parent[s]
                if parent == self.root:
                    self.running = False  # the root stands for <scxml>: the run ends
                    continue
                assert parent is not None
                self.internal_queue.append(f"done.state.{parent}")
                grand = self.parent[parent]
                if grand is not None and self.kind(grand) == "parallel" and all(
                        self.is_in_final_state(c) for c in self.child_states(grand)):
                    self.internal_queue.append(f"done.state.{grand}")
        if not self.running:
            self.configuration.clear()  # exitInterpreter

    def compute_entry_set(self, transitions: list[dict[str, Any]], to_enter: list[str],
                          default_entry: list[str]) -> None:
        for t in transitions:
            for s in t["target"]:
                self.add_descendant_states_to_enter(s, to_enter, default_entry)
            ancestor = self.get_transition_domain(t)
            for s in self.get_effective_target_states(t):
                self.add_ancestor_states_to_enter(s, ancestor, to_enter, default_entry)

    def add_descendant_states_to_enter(self, state: str, to_enter: list[str],
                                       default_entry: list[str]) -> None:
        if self.kind(state) == "history":
            targets = self.history_value.get(state) or self.history_default(state)
            for s in targets:
                self.add_descendant_states_to_enter(s, to_enter, default_entry)
            for s in targets:
                self.add_ancestor_states_to_enter(s, self.parent[state], to_enter,
                                                  default_entry)
            return
        if state not in to_enter:
            to_enter.append(state)
        if self.kind(state) == "compound":
            default_entry.append(state)
            for s in self.initial(state):
                self.add_descendant_states_to_enter(s, to_enter, default_entry)
            for s in self.initial(state):
                self.add_ancestor_states_to_enter(s, state, to_enter, default_entry)
        elif self.kind(state) == "parallel":
            for child in self.child_states(state):
                if not any(self.is_descendant(s, child) for s in to_enter):
                    self.add_descendant_states_to_enter(child, to_enter, default_entry)

    def add_ancestor_states_to_enter(self, state: str, ancestor: str | None,
                                     to_enter: list[str], default_entry: list[str]) -> None:
        for anc in self.proper_ancestors(state, ancestor):
            if anc not in to_enter:
                to_enter.append(anc)
            if self.kind(anc) == "parallel":
                for child in self.child_states(anc):
                    if not any(self.is_descendant(s, child) for s in to_enter):
                        self.add_descendant_states_to_enter(child, to_enter, default_entry)

    def is_in_final_state(self, s: str) -> bool:
        if self.kind(s) == "compound":
            return any(self.kind(c) == "final" and c in self.configuration
                       for c in self.child_states(s))
        if self.kind(s) == "parallel":
            return all(self.is_in_final_state(c) for c in self.child_states(s))
        return False

    def get_transition_domain(self, t: dict[str, Any]) -> str | None:
        states = self.get_effective_target_states(t)
        if not states:
            return None
        source = t["source"]
        if source is None:
            return None  # the document's initial transition
        if t["type"] == "internal" and self.kind(source) == "compound" and all(
                self.is_descendant(s, source) for s in states):
            return source
        return self.find_lcca([source, *states])

    def find_lcca(self, states: list[str]) -> str | None:
        for anc in self.proper_ancestors(states[0], None):
            if self.kind(anc) == "compound" and all(
                    self.is_descendant(s, anc) for s in states[1:]):
                return anc
        return None  # the <scxml> element, above the root state

    def get_effective_target_states(self, t: dict[str, Any]) -> list[str]:
        targets: list[str] = []
        for s in t["target"]:
            if self.kind(s) == "history":
                found = self.history_value.get(s) or self.get_effective_target_states(
                    {"source": None, "target": self.history_default(s), "type": "external"})
                targets.extend(x for x in found if x not in targets)
            elif s not in targets:
                targets.append(s)
        return targets


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=charts(), script=st.lists(
    st.tuples(st.sampled_from(EVENTS), st.sampled_from([0, 0.5, 1, 2.5])), max_size=15))
def test_actors_step_like_the_scxml_algorithm(tmp_path_factory: Any, data: dict[str, Any],
                                              script: Any) -> None:
    folder: Path = tmp_path_factory.mktemp("random")
    (folder / "schemas.yaml").write_text("client: {a: {}, b: {}, c: {}}\n")
    (folder / "random.yaml").write_text(json.dumps(data))  # JSON is YAML
    chart = load_chart(folder / "random.yaml")
    clock = FakeClock(0.0)
    reference = Reference(data)
    try:
        reference.start()
    except RecursionError:
        with pytest.raises(StepError):
            Actor.spawn(chart, "r", caller=alice, clock=clock)
        return
    actor = Actor.spawn(chart, "r", caller=alice, clock=clock)

    def same() -> None:
        assert sorted(actor.configuration) == sorted(reference.configuration)
        context = actor.context
        assert (context["x"], context["y"]) == (reference.data["x"], reference.data["y"])

    same()
    for event, wait in script:
        clock.t += wait
        actor = Actor.restore(chart, actor.snapshot_json(), clock=clock)
        before = copy.deepcopy(reference.__dict__)
        try:
            reference.send(event, clock.t)
            looped = False
        except RecursionError:
            reference.__dict__.update(before)  # the actor rolls a looping event back
            reference.now = clock.t
            looped = True
        if actor.done:
            assert not reference.running
            continue
        try:
            actor.send({"type": event}, alice)
            assert not looped
        except StepError:
            assert looped
        same()
