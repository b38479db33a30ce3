"""Every lint rule, each on a fixture chart that breaks it exactly once.

Each fixture in ``fixtures/`` makes one mistake; the test checks that lint reports that one
mistake (and nothing else) with the rule code and the line and column a user would jump to, and
that the message says what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sismic.exceptions import StatechartError

import actorkit.chart
from actorkit import RULES, ChartError, Diagnostic, Severity, inspect_chart, load_chart
from actorkit.lint import lint_files

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Case:
    """One fixture and the one diagnostic it must produce."""

    fixture: str
    code: str
    line: int
    column: int
    #: phrases the message must contain: the fix it suggests
    says: tuple[str, ...] = ()
    #: the file the diagnostic points into, relative to fixtures/ (default: the fixture)
    file: str | None = None


CASES = [
    # An extra space of indentation before `initial:`.
    Case("ak001_yaml_syntax.yaml", "AK001", 6, 13, ("YAML syntax error", "indentation")),
    # `transition:` instead of `transitions:`: lint points at the misspelt key.
    Case("ak101_chart_schema.yaml", "AK101", 9, 9,
         ("unknown key 'transition'", "state 'idle'", "did you mean 'transitions'?")),
    # A state size that is not one: lint says what a size looks like.
    Case("ak101_max_state.yaml", "AK101", 2, 12,
         ("max_state is '4 megs'", "a size like 512KiB or 4MiB")),
    Case("ak102_missing_module.yaml", "AK102", 2, 8,
         ("'hooks.ak102_does_not_exist' not found", "create hooks/ak102_does_not_exist.py")),
    Case("ak102_import_error.yaml", "AK102", 2, 8,
         ("fails to import", "ak102_raises.py, line 3", "RuntimeError: database not configured")),
    Case("ak103_unknown_hook.yaml", "AK103", 10, 17,
         ("hook `save_itme` not found", "did you mean `save_item`?")),
    Case("ak104_hook_signature.yaml", "AK104", 10, 17,
         ("cannot be called as save(ctx, event)", "give it exactly those two parameters")),
    Case("ak105_missing_schemas.yaml", "AK105", 2, 10,
         ("'schemas/ak105_does_not_exist.yaml' not found", "create it")),
    # `events:` is not a section of a schemas file: lint points into the schemas file.
    Case("ak105_misshapen_schemas.yaml", "AK105", 3, 1,
         ("unknown section 'events'", "client"), file="schemas/ak105_misshapen.yaml"),
    Case("ak106_invalid_schema.yaml", "AK106", 4, 20,
         ("'strng' is not a JSON Schema type", "did you mean 'string'?"),
         file="schemas/ak106.yaml"),
    # A bad shared definition is reported once, where it is written, not at each user of it.
    Case("ak106_bad_definition.yaml", "AK106", 5, 39, ("minimum of 0",),
         file="schemas/ak106_definition.yaml"),
    Case("ak107_initial_context.yaml", "AK107", 5, 12,
         ("context.public", "/count", "'zero' is not of type 'integer'", "fix the value")),
    Case("ak108_reserved_event.yaml", "AK108", 2, 3, ("CONNECT is a system event", "rename it"),
         file="schemas/ak108_event.yaml"),
    Case("ak108_reserved_field.yaml", "AK108", 5, 7,
         ("reserved field `caller`", "remove it from the schema"),
         file="schemas/ak108_field.yaml"),
    Case("ak201_final_transitions.yaml", "AK201", 15, 11,
         ("final state 'done' cannot have transitions", "move them to its parent")),
    # sismic accepts this chart but cannot run it ("State None does not exist" on spawn).
    Case("ak201_history_root.yaml", "AK201", 6, 11,
         ("cannot be the root state", "put it inside a compound state")),
    # sismic ends the actor at start (or trips over itself) when the root's region is final.
    Case("ak201_final_region.yaml", "AK201", 9, 15,
         ("final state 'over' is a region of the parallel root", "make the root a compound")),
    Case("ak202_duplicate_state.yaml", "AK202", 12, 15,
         ("'waiting' is used twice", "rename one of them", "the other one is at line 11")),
    Case("ak203_unknown_target.yaml", "AK203", 12, 21,
         ("unknown state 'runing'", "did you mean 'running'?")),
    Case("ak204_bad_initial.yaml", "AK204", 6, 14,
         ("initial state 'idel' of 'root' is not a state", "did you mean 'idle'?")),
    Case("ak205_no_initial.yaml", "AK205", 8, 15, ("'game'", "add `initial: playing`")),
    Case("ak206_unreachable.yaml", "AK206", 9, 15,
         ("'orphan' can never be entered", "the target of a transition")),
    # The error is on the second line of an `on entry: |` block: lint points at that line.
    Case("ak207_code_syntax.yaml", "AK207", 11, 14, ("line 2 of the code", "'=='")),
    Case("ak208_nondeterministic.yaml", "AK208", 13, 13,
         ("two transitions on event 'GO' without a guard", "add a guard or a `priority`")),
    # The "else branch" people write: sismic raises whenever the guard holds.
    Case("ak208_guard_fallback.yaml", "AK208", 16, 13, ("`priority: low`", "fallback")),
    Case("ak209_bad_memory.yaml", "AK209", 21, 21,
         ("memory 'root' of history state 'history'", "'playing' or 'paused'")),
    Case("ak210_eventless_loop.yaml", "AK210", 10, 13,
         ("no event and no guard", "give it an event or a guard")),
    Case("ak210_eventless_cycle.yaml", "AK210", 10, 13,
         ("'ping' -> 'pong' -> 'ping'", "give one of them an event or a guard")),
    # sismic enters only the target's region of a parallel state; the others stay empty.
    Case("ak211_partial_parallel.yaml", "AK211", 11, 36,
         ("enters parallel state 'game' through its region 'board' only", "'clock' inactive",
          "target 'game' itself")),
    # sismic enters the target's region without leaving its active state: two active states.
    Case("ak212_cross_region.yaml", "AK212", 13, 40,
         ("crosses from region 'board' to region 'clock' of parallel state 'game'",
          "send an event that region handles")),
    # A list of targets is SCXML's: under sismic's semantics lint says what to add.
    Case("ak213_needs_scxml.yaml", "AK213", 13, 40,
         ("a list of targets needs `semantics: scxml`", "add it")),
    Case("ak214_done_state.yaml", "AK214", 14, 25,
         ("'done.state.playing' never happens", "'playing' is an atomic state",
          "name a compound or parallel state")),
    # A state and its own region cannot both be entered by one transition.
    Case("ak215_multi_target.yaml", "AK215", 14, 40,
         ("'setup' and 'board' cannot be active together", "different region")),
    # The fallback written the sismic way: under scxml document order already makes it one.
    Case("ak216_scxml_priority.yaml", "AK216", 18, 23,
         ("document order decides", "remove `priority`")),
    Case("ak301_undeclared_event.yaml", "AK301", 10, 16,
         ("'ADD_TOOD' is not declared", "did you mean 'ADD_TODO'?")),
    Case("ak302_unhandled_event.yaml", "AK302", 4, 3,
         ("service event 'PURGE'", "add a transition or remove the declaration"),
         file="schemas/ak302.yaml"),
    # A misspelt ctx.schedule() in the hooks: lint points at the call in the hooks file.
    Case("ak303_unhandled_sent.yaml", "AK303", 3, 5,
         ("'REMNDER' is sent by the chart but no transition handles it", "did you mean "
          "'REMINDER'?"), file="hooks/ak303.py"),
]


def _where(d: Diagnostic) -> tuple[Path, int, int, str]:
    return Path(d.path).resolve(), d.line, d.column, d.code


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.fixture.removesuffix(".yaml"))
def test_rule_fires_exactly_where_intended(case: Case) -> None:
    found = inspect_chart(FIXTURES / case.fixture)

    file = (FIXTURES / (case.file or case.fixture)).resolve()
    assert [_where(d) for d in found.diagnostics] == [(file, case.line, case.column, case.code)]
    message = found.diagnostics[0].message
    for phrase in case.says:
        assert phrase in message


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.fixture.removesuffix(".yaml"))
def test_errors_stop_loading_and_warnings_do_not(case: Case) -> None:
    if RULES[case.code].severity is Severity.WARNING:
        assert load_chart(FIXTURES / case.fixture) is not None
    else:
        with pytest.raises(ChartError) as raised:
            load_chart(FIXTURES / case.fixture)
        assert [d.code for d in raised.value.diagnostics] == [case.code]
        assert f":{case.line}:{case.column}: {case.code} " in str(raised.value)


def test_every_rule_has_a_fixture() -> None:
    # AK002: test_non_utf8_chart_is_unreadable; AK304, a rule across the charts of a folder:
    # test_a_tell_to_a_type_no_chart_beside_it_serves (and tests/test_tell.py)
    covered = {c.code for c in CASES} | {"AK002", "AK304"}
    assert covered == set(RULES)


def test_non_utf8_chart_is_unreadable(tmp_path: Path) -> None:
    chart = tmp_path / "latin1.yaml"
    chart.write_bytes("actor: cafe\n# caf\u00e9 au lait\n".encode("latin-1"))

    found = inspect_chart(chart)

    assert [(d.line, d.column, d.code) for d in found.diagnostics] == [(2, 6, "AK002")]
    assert "not UTF-8" in found.diagnostics[0].message
    assert "save the file as UTF-8" in found.diagnostics[0].message


def test_non_utf8_schemas_file_is_reported_as_a_schemas_problem(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "s.yaml").write_bytes(b"client:\n  GO: {description: \xff}\n")
    chart = tmp_path / "c.yaml"
    chart.write_text("actor: c\nschemas: schemas/s.yaml\nstatechart:\n  name: c\n"
                     "  root state:\n    name: root\n", encoding="utf-8")

    found = inspect_chart(chart)

    assert [(Path(d.path).name, d.line, d.column, d.code) for d in found.diagnostics] == [
        ("s.yaml", 2, 21, "AK105")]


def test_sismic_rejection_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    # A rejection only sismic knows about (lint's own checks found nothing) still becomes a
    # diagnostic at the statechart, with sismic's reason.
    def reject(data: object) -> None:
        raise StatechartError("State X cannot be used as a parent")

    monkeypatch.setattr(actorkit.chart, "import_from_dict", reject)

    found = inspect_chart(ROOT / "charts" / "todo.yaml")

    assert found.chart is None
    assert [d.code for d in found.diagnostics] == ["AK201"]
    assert "sismic rejects the statechart: State X cannot be used as a parent" in (
        found.diagnostics[0].message)


SHIPPED = sorted((ROOT / "charts").glob("*.yaml"))


def test_there_are_shipped_charts() -> None:
    assert SHIPPED


@pytest.mark.parametrize("chart", SHIPPED, ids=lambda p: p.name)
def test_shipped_charts_are_lint_clean(chart: Path) -> None:
    found = inspect_chart(chart)

    assert [d.format() for d in found.diagnostics] == []
    assert found.chart is not None


def test_several_mistakes_are_all_reported_in_one_run() -> None:
    found = inspect_chart(FIXTURES / "many_mistakes.yaml")

    chart = (FIXTURES / "many_mistakes.yaml").resolve()
    schemas = (FIXTURES / "schemas" / "many_mistakes.yaml").resolve()
    # In file order: the chart first, then its schemas file.
    assert [_where(d) for d in found.diagnostics] == [
        (chart, 7, 12, "AK107"),   # count: "0" where the schema wants an integer
        (chart, 16, 19, "AK207"),  # `(` never closed, on the first line of the block
        (chart, 19, 21, "AK203"),  # target: runing
        (chart, 21, 21, "AK103"),  # stop_it (the hooks have `stop`)
        (chart, 23, 21, "AK104"),  # save(ctx)
        (chart, 24, 20, "AK301"),  # UNDO is not declared
        (chart, 27, 15, "AK202"),  # a second `idle`
        (chart, 28, 15, "AK206"),  # nothing enters `orphan`
        (schemas, 9, 3, "AK302"),  # PURGE is declared, nothing handles it
    ]
    assert len(found.errors) == 7
    assert found.chart is None



def _project(tmp_path: Path, hooks: dict[str, str]) -> Path:
    """A project with charts/c.yaml calling the hook `helper` of hooks.main."""
    (tmp_path / "hooks").mkdir()
    for name, text in hooks.items():
        (tmp_path / "hooks" / f"{name}.py").write_text(text, encoding="utf-8")
    (tmp_path / "charts").mkdir()
    chart = tmp_path / "charts" / "c.yaml"
    chart.write_text("actor: c\nhooks: hooks.main\nstatechart:\n  name: c\n  root state:\n"
                     "    name: root\n    on entry: helper\n", encoding="utf-8")
    return chart


def test_hooks_can_import_their_neighbours_relatively(tmp_path: Path) -> None:
    chart = _project(tmp_path, {"common": "def helper(ctx, event):\n    pass\n",
                                "main": "from .common import helper\n"})

    assert inspect_chart(chart).diagnostics == []


def test_absolute_import_of_a_neighbour_suggests_the_relative_one(tmp_path: Path) -> None:
    chart = _project(tmp_path, {"common": "def helper(ctx, event):\n    pass\n",
                                "main": "from hooks.common import helper\n"})

    found = inspect_chart(chart)

    assert [(d.line, d.column, d.code) for d in found.diagnostics] == [(2, 8, "AK102")]
    assert "main.py, line 1" in found.diagnostics[0].message
    assert "`from .common import ...`" in found.diagnostics[0].message


def test_an_unhandled_inline_send_points_at_the_code(tmp_path: Path) -> None:
    chart = tmp_path / "inline.yaml"
    chart.write_text("actor: inline\nstatechart:\n  name: i\n  root state:\n    name: r\n"
                     "    on entry: send('NOBODY_HANDLES_ME')\n")
    [d] = inspect_chart(chart).diagnostics
    assert (d.code, d.line, d.column) == ("AK303", 6, 15)
    assert "'NOBODY_HANDLES_ME' is sent by the chart" in d.message


def test_what_sismic_runs_correctly_is_not_refused(tmp_path: Path) -> None:
    # A transition back to the region that holds its source restarts that region only (AK212
    # is about crossing into another region), and lower priorities below a transition without
    # a guard are never tried, so they cannot clash (AK208). Both shapes are in sismic's own
    # charts (writer_options, nested_parallel, priority).
    (tmp_path / "s.yaml").write_text("client:\n  RESET: {}\n  NEXT: {}\n", encoding="utf-8")
    chart = tmp_path / "c.yaml"
    chart.write_text("""\
actor: c
schemas: s.yaml
statechart:
  name: c
  root state:
    name: root
    parallel states:
      - name: left
        initial: a
        states:
          - name: a
            transitions:
              - {event: NEXT, target: b}
          - name: b
            transitions:
              - {event: RESET, target: left}
      - name: right
        initial: c
        states:
          - name: c
            transitions:
              - {target: d, priority: high}
              - {target: d, priority: low}
              - {target: d, priority: low}
          - name: d
""", encoding="utf-8")

    found = inspect_chart(chart)

    assert [d.format() for d in found.diagnostics] == []
    assert found.chart is not None


def test_a_tell_to_a_type_no_chart_beside_it_serves() -> None:
    report = lint_files([FIXTURES / "ak304_tell_target.yaml"])

    assert [(Path(d.path).name, d.line, d.column, d.code) for d in report.diagnostics] == [
        ("ak304.py", 2, 5, "AK304")]
    assert "actor type 'nowhere', which no chart here serves" in report.diagnostics[0].message
    assert inspect_chart(FIXTURES / "ak304_tell_target.yaml").diagnostics == []
