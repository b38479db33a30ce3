"""The ``actorkit`` command, run for real in a subprocess as a user or a CI job would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, run_actorkit

import actorkit
from actorkit import RULES

FIXTURES = "tests/lint/fixtures"
UNKNOWN_TARGET = f"{FIXTURES}/ak203_unknown_target.yaml"
UNREACHABLE = f"{FIXTURES}/ak206_unreachable.yaml"  # a warning only


def test_lint_without_paths_checks_charts_folder_and_it_is_clean() -> None:
    run = run_actorkit("lint")

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("All clean: ")
    assert run.stderr == ""


def test_lint_reports_problems_as_path_line_col_code() -> None:
    run = run_actorkit("lint", UNKNOWN_TARGET)

    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0] == (f"{UNKNOWN_TARGET}:12:21: AK203 transition targets unknown state "
                        f"'runing': did you mean 'running'?")
    assert lines[-1] == "Found 1 error and 0 warnings in 1 chart."


def test_lint_json_format() -> None:
    run = run_actorkit("lint", "--format", "json", UNKNOWN_TARGET, UNREACHABLE)

    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert isinstance(report, list)
    assert [set(d) for d in report] == [
        {"path", "line", "column", "code", "rule", "severity", "message"}] * 2
    first, second = report
    assert (first["path"], first["line"], first["column"]) == (UNKNOWN_TARGET, 12, 21)
    assert (first["code"], first["rule"], first["severity"]) == ("AK203", "unknown-target",
                                                                 "error")
    assert (second["code"], second["rule"], second["severity"]) == ("AK206", "unreachable",
                                                                    "warning")


def test_lint_json_format_of_a_clean_run_is_an_empty_list() -> None:
    run = run_actorkit("lint", "--format", "json", "charts")

    assert run.returncode == 0
    assert json.loads(run.stdout) == []


def test_lint_github_format() -> None:
    run = run_actorkit("lint", "--format", "github", UNKNOWN_TARGET, UNREACHABLE)

    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        f"::error file={UNKNOWN_TARGET},line=12,col=21,title=AK203::transition targets unknown "
        f"state 'runing': did you mean 'running'?",
        f"::warning file={UNREACHABLE},line=9,col=15,title=AK206::state 'orphan' can never be "
        f"entered: make it the `initial` of its parent or the target of a transition",
    ]


def test_lint_nonexistent_path_exits_2() -> None:
    run = run_actorkit("lint", "charts/nope.yaml")

    assert run.returncode == 2
    assert "charts/nope.yaml: no such file or folder" in run.stderr
    assert run.stdout == ""


def test_lint_without_charts_folder_exits_2(tmp_path: Path) -> None:
    run = run_actorkit("lint", cwd=tmp_path)

    assert run.returncode == 2
    assert "no charts/ folder here" in run.stderr


def test_lint_folder_skips_yaml_that_is_not_a_chart() -> None:
    # A schemas file is YAML too, but not a chart: a folder of them has nothing to lint.
    run = run_actorkit("lint", f"{FIXTURES}/schemas")

    assert run.returncode == 2
    assert "no chart files in this folder" in run.stderr


def test_lint_folder_reports_every_fixture() -> None:
    run = run_actorkit("lint", "--format", "json", FIXTURES)

    assert run.returncode == 1
    report = json.loads(run.stdout)
    # Every rule has a fixture (AK002's is made on the fly by its test); no schemas file was
    # linted as if it were a chart.
    assert {d["code"] for d in report} == set(RULES) - {"AK002"}
    assert not any(d["path"].startswith(f"{FIXTURES}/schemas/") and d["code"] == "AK101"
                   for d in report)


@pytest.mark.parametrize("args", [["lint", "--format", "xml"], ["lint", "--nope"], ["nope"]])
def test_bad_usage_exits_2(args: list[str]) -> None:
    run = run_actorkit(*args)

    assert run.returncode == 2
    assert "usage: actorkit" in run.stderr


def test_fail_level_error_ignores_warnings() -> None:
    default = run_actorkit("lint", UNREACHABLE)
    errors_only = run_actorkit("lint", "--fail-level", "error", UNREACHABLE)

    assert default.returncode == 1
    assert errors_only.returncode == 0
    # The warning is still shown, it just does not fail the run.
    assert "AK206" in errors_only.stdout


def test_fail_level_error_still_fails_on_errors() -> None:
    run = run_actorkit("lint", "--fail-level", "error", UNKNOWN_TARGET)

    assert run.returncode == 1


def test_rules_lists_every_code() -> None:
    run = run_actorkit("rules")

    assert run.returncode == 0
    listed = [line.split()[:3] for line in run.stdout.splitlines()]
    assert listed == [[r.code, r.name, r.severity.value] for r in RULES.values()]


@pytest.mark.parametrize(("which", "title"), [("chart", "actorkit chart"),
                                              ("schemas", "actorkit schemas file")])
def test_schema_prints_json_schema(which: str, title: str) -> None:
    run = run_actorkit("schema", which)

    assert run.returncode == 0
    schema = json.loads(run.stdout)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["title"] == title


def test_version() -> None:
    run = run_actorkit("--version")

    assert run.returncode == 0
    assert run.stdout.strip() == f"actorkit {actorkit.__version__}"


def test_lint_inside_the_charts_folder_finds_hooks_and_schemas_above_it() -> None:
    run = run_actorkit("lint", "todo.yaml", cwd=ROOT / "charts")

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == "All clean: 1 chart checked.\n"


def test_quarantine_says_what_it_needs(tmp_path: Path) -> None:
    lift = run_actorkit("quarantine", "lift", "todo", "--db", tmp_path / "none.db")
    assert lift.returncode == 2
    assert "lift which actor? actorkit quarantine lift TYPE ID" in lift.stderr
    show = run_actorkit("quarantine", "show", "todo", "--db", tmp_path / "none.db")
    assert show.returncode == 2 and "no actor store at" in show.stderr
    store = tmp_path / "actors.db"
    store.write_bytes(b"")
    other = run_actorkit("quarantine", "show", "nothing", "--db", store)
    assert other.returncode == 2 and "no chart serves actor type 'nothing'" in other.stderr


@pytest.mark.parametrize("args", [["rules"], ["lint", "charts"], ["schema"]])
def test_output_cut_off_by_a_closed_pipe_ends_quietly(args: list[str]) -> None:
    # `actorkit rules | head -1`, with the reader gone before the first line is written
    read, write = os.pipe()
    os.close(read)
    try:
        run = subprocess.run([sys.executable, "-m", "actorkit", *args], cwd=ROOT,
                             stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                             check=False)
    finally:
        os.close(write)

    assert run.stderr == ""  # no BrokenPipeError traceback
    assert run.returncode == 128 + signal.SIGPIPE  # what the shell reports for `yes | head`


@pytest.mark.parametrize("command", ["serve", "lint", "rules", "schema"])
def test_a_wrong_flag_after_a_command_shows_that_commands_usage(command: str) -> None:
    run = run_actorkit(command, "--nope")

    assert run.returncode == 2
    assert run.stderr.startswith(f"usage: actorkit {command} ")
    assert f"actorkit {command}: error: unrecognized arguments: --nope" in run.stderr
