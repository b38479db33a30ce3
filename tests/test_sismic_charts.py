"""sismic's own charts run unchanged: every example and test chart of sismic 1.6 (in
tests/sismic, see its README) that sismic itself can run loads as an actorkit chart, with the
schemas file next to it, and an ``Actor`` of it gives what sismic's ``Interpreter`` gives:
the same configuration and context after every event and every timer step, on sismic's own
scenarios (its .feature files and test stories) and on generated event sequences, with time
going forward so that ``after()`` and ``idle()`` fire.

Timers: an actor fires an ``after()``/``idle()`` guard at the instant it holds, which it
computes (``next_deadline``); sismic checks them only when polled. So sismic is polled at the
actor's deadlines, and at every event: a deadline too early shows as an actor that fired when
sismic did not, one too late as sismic firing with the next event while the actor had not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from sismic.clock import SimulatedClock
from sismic.exceptions import NonDeterminismError, SismicError
from sismic.interpreter import Interpreter
from sismic.io import import_from_yaml

from actorkit import Actor, Caller, Chart, StepError, StepLimitError, inspect_chart
from actorkit.chart import Inspection

SISMIC = Path(__file__).resolve().parent / "sismic"
CHARTS = sorted(str(p.relative_to(SISMIC)) for p in SISMIC.rglob("*.yaml")
                if not p.name.endswith(".schemas.yaml"))
tester = Caller.client("tester")

#: Charts sismic itself cannot run, and why.
SISMIC_CANNOT_RUN = {
    # its two eventless transitions without a guard are enabled together
    "tests/yaml/nondeterministic.yaml": NonDeterminismError,
}
#: Charts whose eventless transitions go round for ever, in sismic too: its execute() never
#: returns (sismic's tests take them one execute_once() at a time); an actor refuses to start.
NEVER_SETTLE = {
    # a -> b (priority high) and b -> a (priority -2), neither with an event or a guard
    "tests/yaml/priority.yaml",
}
#: Charts sismic runs into a broken configuration, which lint refuses, and how.
REFUSED = {
    # b2 -> c1 crosses from region p2 into p1: p1 is left with two active states
    "tests/yaml/parallel.yaml": ("AK212", ["nextA", "nextA", "nextB", "conflict2"]),
}

Step = tuple[str, Any, dict[str, Any]]  # ("send", name, data) or ("wait", seconds, {})


def send(name: str, **data: Any) -> Step:
    return ("send", name, data)


def wait(seconds: float) -> Step:
    return ("wait", seconds, {})


#: Charts that load but whose code needs Python objects in the context or in event payloads,
#: which sismic's own runs pass in and JSON cannot carry: compared on what needs none.
#: For each, an event whose code needs such an object: both sismic and the actor fail on it.
NEEDS_OBJECTS: dict[str, Step] = {
    # its actions call `stopwatch.start()` and so on, on an object sismic's example puts in
    # the initial context; an actor's context is JSON (sismic raises NameError without it)
    "docs/examples/stopwatch/stopwatch_external.yaml": send("start"),
    # property statecharts whose guards read `event.event.name`: sismic binds them to another
    # interpreter, whose meta-events carry a sismic Event object; a JSON payload is a dict
    "docs/examples/microwave/heating_property.yaml": send(
        "event consumed", event={"name": "door_opened"}),
    "docs/examples/microwave/heating_on_property.yaml": send(
        "event consumed", event={"name": "door_opened"}),
    "docs/examples/microwave/heating_off_property.yaml": send(
        "event sent", event={"name": "heating_on"}),
}


def floor(n: int) -> Step:
    return send("floorSelected", floor=n)


_HEATING = [send("door_opened"), send("item_placed"), send("door_closed"), send("timer_inc"),
            send("cooking_start")]
_COOKING = [send("door_opened"), send("item_placed"), send("door_closed"),
            *[send("timer_inc")] * 5, send("power_inc"), send("cooking_start")]
_MICROWAVE = [
    # heating.feature
    [], [send("door_opened")], [send("door_opened"), send("item_placed")],
    [send("door_opened"), send("item_placed"), send("door_closed")],
    _HEATING, [*_HEATING, send("door_opened")],
    # cooking_human.feature ("N seconds elapsed" is N timer_tick events in its steps.py)
    _COOKING, [*_COOKING, *[send("timer_tick")] * 2, send("cooking_stop")],
    [*_COOKING, *[send("timer_tick")] * 5],
    # lighting_human.feature
    [send("door_opened"), send("door_closed")],
    [*_COOKING[:-2], send("cooking_start"), send("cooking_stop")],
    # safety_human.feature (its background, then each scenario)
    [*_COOKING[:-2], send("door_opened"), send("cooking_start")],
    [*_COOKING[:-2], send("cooking_start"), *[send("timer_tick")] * 3, send("door_opened")],
    # sismic's tests/test_examples.py
    [send("door_opened")], [*_HEATING[:-1], send("cooking_start")],
]
_ELEVATOR = [
    # elevator.feature
    [], [floor(7)], [send("floorSelected", floor=4, dummy=None)], [floor(7), wait(10)],
    *[[floor(n)] for n in range(6)],
    # sismic's tests/test_examples.py
    [floor(4), wait(10)],
]

#: sismic's own scenarios for each chart: its .feature files, and the stories of its tests.
SCENARIOS: dict[str, list[list[Step]]] = {
    "docs/examples/elevator/elevator.yaml": _ELEVATOR,
    "docs/examples/elevator/elevator_contract.yaml": _ELEVATOR,
    "docs/examples/elevator/elevator_buttons.yaml": [
        [send("button_2_pushed")], [send("button_0_pushed")]],
    "docs/examples/elevator/tester_elevator_moves_after_10s.yaml": [
        # what the elevator reports on its way up to 4 and back to 0 (tests/test_property.py)
        [send("state entered", state="moving"), send("state entered", state="movingUp"),
         wait(4), send("state exited", state="movingUp"), send("state exited", state="moving"),
         wait(10), send("state entered", state="moving"),
         send("state entered", state="movingDown"), wait(4),
         send("state exited", state="movingDown"), send("state exited", state="moving")],
        [send("state entered", state="moving"), send("state entered", state="movingUp"),
         send("state exited", state="moving"), wait(13)],
    ],
    "docs/examples/elevator/tester_elevator_7th_floor_never_reached.yaml": [
        [send("state entered", state="floorSelecting"), send("state entered", state="moving"),
         *[send("state entered", state="movingUp")] * 7],
    ],
    "docs/examples/microwave/microwave.yaml": _MICROWAVE,
    "docs/examples/microwave/microwave_with_contracts.yaml": _MICROWAVE,
    "docs/examples/stopwatch/stopwatch.yaml": [
        [send("start"), wait(3.2), send("split"), wait(10), send("split"), send("stop"),
         wait(1), send("reset")],
        [send("start"), wait(0.3), send("stop"), wait(0.3), send("start"), wait(13.2)],
    ],
    "docs/examples/stopwatch/stopwatch_external.yaml": [[wait(1)]],
    "docs/examples/writer_options.yaml": [
        # sismic's tests/test_examples.py
        [send("keyPress", key="bonjour "), send("toggle"), send("keyPress", key="a "),
         send("toggle"), send("toggle_bold"), send("keyPress", key="tous !"), send("leave")]],
    "docs/examples/microwave/heating_property.yaml": [[]],
    "docs/examples/microwave/heating_on_property.yaml": [[]],
    "docs/examples/microwave/heating_off_property.yaml": [[]],
    # sismic's tests/test_interpreter.py and tests/test_model.py
    "tests/yaml/actions.yaml": [[]],
    "tests/yaml/composite.yaml": [[send("click"), send("validate"), send("close")]],
    "tests/yaml/deep_history.yaml": [
        [send("next1"), send("next2")],
        [send("next1"), send("next2"), send("error1"), send("continue")],
        [send("next1"), send("next2"), send("pause"), send("continue"), send("next1"),
         send("next2")],
        [send("error1"), send("continue"), send("error2"), send("stop")]],
    "tests/yaml/final.yaml": [
        [send("root-final")], [send("b")], [send("c")],
        [send("parallel"), send("p1-final"), send("p2-final")]],
    "tests/yaml/history.yaml": [
        [send("next")], [send("next"), send("pause")],
        [send("next"), send("pause"), send("continue")],
        [send("next"), send("pause"), send("continue"), send("next"), send("next"),
         send("pause"), send("stop")]],
    "tests/yaml/infinite.yaml": [[]],
    "tests/yaml/internal.yaml": [[send("not_next")], [send("next"), send("not_next")]],
    "tests/yaml/nested_parallel.yaml": [
        [send("next")], [send("next"), send("click")], [send("next"), send("reset")],
        [send("next"), send("click"), send("next"), send("next")]],
    "tests/yaml/simple.yaml": [
        [send("goto s2")], [send("goto s2"), send("goto final")],
        [send("goto s2"), send("goto s1"), send("goto s2")]],
    "tests/yaml/timer.yaml": [[wait(3)], [wait(3), wait(2), wait(2)], [wait(10)],
                              [wait(2.9), wait(0.1), wait(1.9), wait(0.1), wait(2)]],
}

RUNNABLE = [c for c in CHARTS
            if c not in SISMIC_CANNOT_RUN and c not in REFUSED and c not in NEVER_SETTLE]
START = 3.2  # a start at which float sums go astray (13.2 - 10 < 3.2)


def inspect(tmp: Path, chart: str) -> Inspection:
    """The sismic chart, unchanged, under the two lines that make it an actor type."""
    source = SISMIC / chart
    schemas = source.with_name(source.stem + ".schemas.yaml")
    name = "".join(c if c.isalnum() else "-" for c in source.stem.lower())
    file = tmp / f"{name}.yaml"
    file.write_text(f"actor: {name}\nschemas: {schemas}\n" + source.read_text("utf-8"), "utf-8")
    return inspect_chart(file)


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Inspection]:
    tmp = tmp_path_factory.mktemp("sismic")
    return {chart: inspect(tmp, chart) for chart in CHARTS}


def loaded(charts: dict[str, Inspection], chart: str) -> Chart:
    found = charts[chart]
    assert found.chart is not None, [d.format() for d in found.diagnostics]
    return found.chart


class Pair:
    """One chart run side by side: an actor and sismic's interpreter, at the same times."""

    def __init__(self, chart: str, loaded: Chart) -> None:
        self.chart = chart
        self.now = START
        self.sismic = Interpreter(import_from_yaml(filepath=str(SISMIC / chart)),
                                  clock=SimulatedClock())
        self.sismic.clock.time = START
        self.sismic.execute(max_steps=1000)
        self.actor = Actor.spawn(loaded, "one", caller=tester, clock=lambda: self.now)
        self.same("start")

    def same(self, where: str) -> None:
        ours, theirs = self.actor, self.sismic
        context = {k: v for k, v in ours.context.items() if k not in ("public", "private")}
        assert (ours.done, context) == (theirs.final, dict(theirs.context)), where
        if not ours.done:
            assert ours.configuration == theirs.configuration, where

    def wait(self, seconds: float) -> None:
        until = self.now + seconds
        while not self.actor.done:
            due = self.actor.next_deadline
            if due is None or due > until:
                break
            self.now = self.sismic.clock.time = due
            self.actor.advance(due)
            self.sismic.execute(max_steps=1000)
            self.same(f"timer step at {due!r}")
        # and sismic polled once more at the end: what it fires then, the actor missed
        self.now = self.sismic.clock.time = until
        self.actor.advance(until)
        self.sismic.execute(max_steps=1000)
        self.same(f"at {until!r}")

    def send(self, name: str, data: dict[str, Any]) -> bool:
        """Send an event to both; False when both refused it, and the run stops there."""
        if self.actor.done:
            return False  # an actor that is done takes no events; sismic ignores them
        try:
            self.actor.send({"type": name, **data}, tester)
        except StepError:
            with pytest.raises(SismicError):
                self.sismic.queue(name, **data).execute(max_steps=1000)
            return False
        self.sismic.queue(name, **data).execute(max_steps=1000)
        self.same(f"after {name} {data}")
        return True

    def run(self, steps: list[Step]) -> None:
        for kind, what, data in steps:
            if kind == "wait":
                self.wait(what)
            elif not self.send(what, data):
                return
        self.wait(0)


def test_every_sismic_chart_is_test_data_and_has_scenarios() -> None:
    assert len(CHARTS) == 26
    assert sorted(SCENARIOS) == sorted(RUNNABLE)
    for chart in CHARTS:
        assert (SISMIC / chart).with_name(Path(chart).stem + ".schemas.yaml").is_file(), chart


@pytest.mark.parametrize("chart", sorted(SISMIC_CANNOT_RUN))
def test_the_charts_sismic_cannot_run_are_the_ones_listed(chart: str) -> None:
    with pytest.raises(SISMIC_CANNOT_RUN[chart]):
        Interpreter(import_from_yaml(filepath=str(SISMIC / chart))).execute(max_steps=1000)


@pytest.mark.parametrize("chart", sorted(NEVER_SETTLE))
def test_a_chart_that_never_settles_in_sismic_does_not_start(
        chart: str, charts: dict[str, Inspection]) -> None:
    sismic = Interpreter(import_from_yaml(filepath=str(SISMIC / chart)))
    assert len(sismic.execute(max_steps=1000)) == 1000
    assert sismic.execute_once() is not None
    with pytest.raises(StepLimitError, match="without settling"):
        Actor.spawn(loaded(charts, chart), "one", caller=tester)


@pytest.mark.parametrize("chart", sorted(REFUSED))
def test_a_chart_sismic_runs_into_a_broken_configuration_is_refused(
        chart: str, charts: dict[str, Inspection]) -> None:
    code, events = REFUSED[chart]
    assert charts[chart].chart is None
    assert [d.code for d in charts[chart].errors] == [code]
    sismic = Interpreter(import_from_yaml(filepath=str(SISMIC / chart)))
    sismic.queue(*events).execute()
    config = sismic.configuration
    # a region left with two active states, and its sibling region gone
    assert {"initial1", "c1"} <= set(config) and "p2" not in config


@pytest.mark.parametrize("chart", sorted(NEEDS_OBJECTS))
def test_code_that_needs_python_objects_fails_alike_without_them(
        chart: str, charts: dict[str, Inspection]) -> None:
    pair = Pair(chart, loaded(charts, chart))
    _, name, data = NEEDS_OBJECTS[chart]
    seq = pair.actor.seq
    assert not pair.actor.done
    assert not pair.send(name, data)  # the actor refused it, and sismic raised
    assert pair.actor.seq == seq


@pytest.mark.parametrize("chart", RUNNABLE)
def test_sismic_scenarios_give_sismics_results(chart: str,
                                               charts: dict[str, Inspection]) -> None:
    for scenario in SCENARIOS[chart]:
        Pair(chart, loaded(charts, chart)).run(scenario)


WAITS = [0, 0, 0.1, 0.2, 0.3, 1, 2.5, 3.2, 10]


def _events(loaded: Chart) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    payloads = {
        "floorSelected": st.fixed_dictionaries({"floor": st.integers(0, 7)}),
        "keyPress": st.fixed_dictionaries({"key": st.sampled_from(["a", "b "])}),
        "state entered": st.fixed_dictionaries({"state": st.sampled_from(
            ["moving", "movingUp", "movingDown", "floorSelecting"])}),
        "state exited": st.fixed_dictionaries({"state": st.sampled_from(
            ["moving", "movingUp", "movingDown"])}),
    }
    names = sorted(loaded.schemas.events_for("client"))
    return st.sampled_from(names).flatmap(
        lambda n: st.tuples(st.just(n), payloads.get(n, st.just({}))))


@pytest.mark.parametrize("chart", [c for c in RUNNABLE if c not in NEEDS_OBJECTS])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_event_sequences_give_sismics_results(
        chart: str, charts: dict[str, Inspection], data: st.DataObject) -> None:
    actor_chart = loaded(charts, chart)
    pair = Pair(chart, actor_chart)
    events = _events(actor_chart) if actor_chart.schemas.events_for("client") else st.nothing()
    steps = data.draw(st.lists(st.one_of(
        st.sampled_from(WAITS).map(wait),
        events.map(lambda e: send(e[0], **e[1]))), max_size=15))
    pair.run(steps)
