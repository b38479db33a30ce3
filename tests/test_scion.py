"""The SCION SCXML conformance tests (tests/scion, see its README) run through actorkit actors.

Each test's chart is loaded under each semantics and run by an ``Actor``, snapshotted and
restored after every event (tests/scion/outcomes.py); what it gives is compared with what
SCION expects. The tests that fail are listed below with why: the outcome of every test must be
exactly as listed, so a test that starts passing must leave its list. To refresh the lists:

    .venv/bin/python tests/scion/outcomes.py

prints every outcome, the figures per set and semantics, and both dicts ready to paste.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from scion.convert import SCHEMAS, ConversionError, actor_type, convert, schemas
from scion.outcomes import SEMANTICS, SUITE, Failure, every_test, outcome, report, sets

#: What SCION expects that sismic's semantics, which a chart without ``semantics:`` gets, does
#: not give (30 of the 73 structural tests pass, and the 10 that raise events).
SISMIC_FAILS = {
    # Transitions of two regions of a parallel state enabled by one event, whose exit sets
    # overlap: sismic raises ConflictingTransitionsError where SCXML keeps the first in
    # document order and drops the other (the step is refused and rolled back)
    "parallel+interrupt/test0": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test1": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test2": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test3": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test4": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test5": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test7": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test7b": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test11": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test12": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test14": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test15": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test16": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test17": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test20": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test21": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test21b": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test21c": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test25": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test30": "step 1 (t): NondeterminismError: Conflicting transitions",
    "parallel+interrupt/test31": "step 1 (t): NondeterminismError: Conflicting transitions",
    # A transition from a region into a state of the same parallel state: sismic's domain is
    # the parallel state, so the other regions stay as they are; SCXML's is the least common
    # compound ancestor, so the parallel state is left and entered again, every region anew
    "more-parallel/test2": "step 1 (t): expected ['a1', 'b1'], got ['a1', 'b2']",
    "more-parallel/test3": "step 1 (t): expected ['a2', 'b1'], got ['a2', 'b2']",
    "more-parallel/test3b": "step 1 (t): expected ['a1', 'b2'], got ['a2', 'b2']",
    "more-parallel/test5": "step 1 (t): expected ['a2', 'b1'], got ['a2', 'b2']",
    "more-parallel/test6": "step 1 (t): expected ['a22', 'b11'], got ['a22', 'b12']",
    "more-parallel/test6b": "step 1 (t): expected ['a11', 'b12'], got ['a22', 'b12']",
    "more-parallel/test7": "step 1 (t): expected ['a22', 'b11'], got ['a22', 'b22']",
    # A transition into a state inside one region of a parallel state: sismic enters that
    # region only, SCXML every region (the others by their initial states)
    "more-parallel/test8": "step 1 (t): expected ['a22', 'b11'], got ['a22']",
    # Two transitions of one state on one event: SCXML takes the first in document order,
    # sismic cannot choose, and lint says so
    "documentOrder/documentOrder0": (
        "refused: AK208 state 'a' has two transitions on event 't' without a guard (the other"
        " is transition #1)"
    ),
    "hierarchy+documentOrder/test0": (
        "refused: AK208 state 'a1' has two transitions on event 't' without a guard (the "
        "other is transition #1)"
    ),
    "hierarchy+documentOrder/test1": (
        "refused: AK208 state 'a1' has two transitions on event 't' without a guard (the "
        "other is transition #1)"
    ),
    # History where SCXML allows it and sismic does not: a default memory below a direct
    # child, and a history state as a child of a parallel state
    "history/history1": "refused: AK213 a history default below a child of 'b' needs `semantics",
    "history/history2": "refused: AK213 a history default below a child of 'b' needs `semantics",
    "history/history3": (
        "refused: AK201 history state 'h' cannot be a region of parallel state 'p'"
    ),
    "history/history4": (
        "refused: AK201 history state 'hp' cannot be a region of parallel state 'p'"
    ),
    "history/history5": (
        "refused: AK201 history state 'ha' cannot be a region of parallel state 'a'"
    ),
    # Transitions with several targets (history4b also has history in a parallel state)
    "history/history4b": (
        "refused: AK213 a transition with a list of targets needs `semantics; AK201 history "
        "state 'hp' cannot be a region of parallel state 'p'"
    ),
    "more-parallel/test9": "refused: AK213 a transition with a list of targets needs `semantics",
    # Event descriptors: sismic matches an event name exactly, so a list of descriptors
    # (`foo bar bat`), a prefix (`foo` for `foo.bar.bat`) and wildcards (`*`, `foo.*`) are
    # names no one sends, which lint refuses, or do not match
    "multiple-events-per-transition/test1": (
        "refused: AK301 event 'foo bar bat' is not declared and the chart does not send it"
    ),
    "scxml-prefix-event-name-matching/test0": "step 4 (foo.bar.bat): expected ['e'], got ['d']",
    "scxml-prefix-event-name-matching/star0": (
        "refused: AK301 event '*' is not declared and the chart does not send it"
    ),
    "scxml-prefix-event-name-matching/test1": (
        "refused: AK301 event 'foo.*' is not declared and the chart does not send it; AK301 "
        "event 'foo.bar.*' is not declared and the chart does not send it; AK301 event "
        "'foo.bar.bat.*' is not declared and the chart does not send it"
    ),
}

#: What SCION expects that ``semantics: scxml`` does not give: nothing (73 of the 73
#: structural tests pass, and the 10 that raise events).
SCXML_FAILS: dict[str, str] = {}

EXPECTED = {"sismic": SISMIC_FAILS, "scxml": SCXML_FAILS}

#: What the selection leaves out: a test using any of these is not structural (README.md).
EXCLUDED = ["<datamodel", "<data", "<script", "<assign", "cond=", "<send", "<if", "<foreach",
            "expr=", "<log", "<cancel", "<invoke", "<donedata"]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Failure | None]:
    folder = tmp_path_factory.mktemp("scion")
    return {(t, s): outcome(t, s, folder) for s in SEMANTICS for t in every_test()}


def test_the_suite_is_the_issues_selection() -> None:
    assert [len(t) for t in sets().values()] == [73, 10]
    for test in every_test():
        text = (SUITE / f"{test}.scxml").read_text("utf-8")
        assert not [w for w in EXCLUDED if w in text], test
        assert (SUITE / f"{test}.json").is_file(), test
    assert set(SISMIC_FAILS) <= set(every_test()) and set(SCXML_FAILS) <= set(every_test())
    assert len({actor_type(t) for t in every_test()}) == len(every_test())


@pytest.mark.parametrize("test", every_test())
def test_each_chart_is_its_scxml_converted(test: str) -> None:
    assert convert(SUITE / f"{test}.scxml") == (SUITE / f"{test}.yaml").read_text("utf-8"), (
        f"{test}.yaml is not what the converter writes: run python tests/scion/convert.py")


def test_the_schemas_file_declares_what_the_tests_send() -> None:
    assert schemas() == (SUITE / SCHEMAS).read_text("utf-8")
    declared = YAML(typ="safe").load(schemas())["client"]
    sent = {step["event"]["name"] for test in every_test()
            for step in json.loads((SUITE / f"{test}.json").read_text("utf-8"))["events"]}
    assert declared == {name: {} for name in sent}


def test_the_converter_writes_what_scion_does_not_test(tmp_path: Path) -> None:
    """What the SCION selection does not use, but the chart format has: final states,
    internal and targetless transitions, several targets and initial states, history with
    several memories in a parallel state, and events raised on entry and exit."""
    file = tmp_path / "more.scxml"
    file.write_text("""<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">
      <state id="s"><initial><transition target="p"/></initial>
        <onexit><raise event="left"/><raise event="gone"/></onexit>
        <parallel id="p">
          <history id="h" type="deep"><transition target="x2 y1"/></history>
          <state id="x" initial="x1"><state id="x1"/><state id="x2"/></state>
          <state id="y"><state id="y1"/>
            <transition event="go.* done.state.y" target="x2 y1" type="internal"/></state>
          <transition event="stop"><raise event="stopped"/></transition>
        </parallel>
      </state>
      <final id="f"><onentry><raise event="bye"/></onentry></final>
    </scxml>""")
    chart = YAML(typ="safe").load(convert(file, "more/test"))
    assert chart["actor"] == "scion-more-test"
    assert chart["statechart"]["root state"] == {"name": "root", "initial": "s", "states": [
        {"name": "s", "initial": "p", "on exit": "send('left')\nsend('gone')", "states": [
            {"name": "p", "transitions": [{"event": "stop", "action": "send('stopped')"}],
             "parallel states": [
                 {"name": "h", "type": "deep history", "memory": ["x2", "y1"]},
                 {"name": "x", "initial": "x1", "states": [{"name": "x1"}, {"name": "x2"}]},
                 {"name": "y", "initial": "y1", "states": [{"name": "y1"}], "transitions": [
                     {"event": "go.* done.state.y", "target": ["x2", "y1"],
                      "type": "internal"}]}]}]},
        {"name": "f", "type": "final", "on entry": "send('bye')"}]}


@pytest.mark.parametrize(("scxml", "error"), [
    ('<state id="a"><transition event="t" cond="x" target="a"/></state>',
     "bad.scxml:2: attribute 'cond' of <transition> is not converted"),
    ('<state id="a"><onentry><send event="x"/></onentry></state>',
     "bad.scxml:2: <send> in <onentry> is not converted (only <raise> is)"),
    ('<datamodel/><state id="a"/>', "bad.scxml:2: <datamodel> in <scxml> is not converted"),
    ('<state id="a">\n<invoke src="x"/></state>',
     "bad.scxml:3: <invoke> in <state> is not converted"),
    ('<state id="a"><script>x = 1</script></state>',
     "bad.scxml:2: text 'x = 1' inside <script> is not converted"),
    ('<state id="a"><transition target="a"><log expr="1"/></transition></state>',
     "bad.scxml:2: <log> in <transition> is not converted"),
    ('<state><state id="a"/></state>', "bad.scxml:2: <state> has no 'id'"),
    ('<state id="a"><history id="h"/><state id="b"/></state>',
     "bad.scxml:2: <history> must hold exactly one <transition>"),
    ('<state id="a"><initial><transition target="b"><raise event="x"/></transition></initial>'
     '<state id="b"/></state>', "bad.scxml:2: <raise> in the transition of <initial>"),
    ('<state id="a"><transition event="t" target=" "/></state>',
     "bad.scxml:2: `target` of <transition> names no state"),
    ('<state id="root"/>', "a state is named 'root', the name of the root state"),
    ('<state id="a" initial="b"><initial><transition target="b"/></initial><state id="b"/>'
     '</state>', "has both an `initial` attribute and an <initial> child"),
    ('<state id="a"/><x:y xmlns:x="urn:x"/>', "element <y> is not in the SCXML namespace"),
    ('<state id="a">text</state>', "text 'text' inside <state> is not converted"),
])
def test_the_converter_refuses_what_it_does_not_handle(tmp_path: Path, scxml: str,
                                                        error: str) -> None:
    file = tmp_path / "bad.scxml"
    file.write_text(f'<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">\n{scxml}'
                    f'</scxml>')
    with pytest.raises(ConversionError, match=re.escape(error)):
        convert(file, "bad/test")


@pytest.mark.parametrize("semantics", SEMANTICS)
@pytest.mark.parametrize("test", every_test())
def test_scion(test: str, semantics: str,
               results: dict[tuple[str, str], Failure | None]) -> None:
    failure, listed = results[test, semantics], EXPECTED[semantics].get(test)
    name = f"{semantics.upper()}_FAILS"
    if failure is None:
        assert listed is None, f"{test} passes under {semantics} now: remove it from {name}"
    else:
        assert listed is not None, (f"{test} fails under {semantics}: {failure.reason} "
                                    f"({failure.detail}); if that is right, list it in {name}")
        assert failure.reason == listed, failure.detail


def test_the_report_gives_the_figures_and_dicts_to_paste(
        results: dict[tuple[str, str], Failure | None]) -> None:
    text = report(results)
    for semantics, listed in EXPECTED.items():
        structural, raising = (sum(t not in listed for t in s) for s in sets().values())
        assert f"{semantics}: passes {structural}/73 structural, {raising}/10 raise" in text
        start = text.index(f"{semantics.upper()}_FAILS = {{")
        pasted = ast.literal_eval(text[text.index("{", start):text.index("\n}", start) + 2])
        assert pasted == listed


def test_the_converter_as_a_script_finds_every_file_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(SUITE / "convert.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
