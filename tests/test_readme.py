"""The README is what users read first: its commands and tables must match the code."""

from __future__ import annotations

import re
import unittest

import pytest
from support import ROOT

from actorkit import RULES

README = (ROOT / "README.md").read_text()


def quick_start_section() -> str:
    return README.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def quick_start() -> list[str]:
    """The quick start's first two commands: the main job, then the test suite."""
    return re.findall(r"```sh\n(.*?)\n```", quick_start_section(), re.S)[:2]


def test_quick_start_has_the_two_commands_and_ci_runs_the_second_verbatim():
    main_job, tests = quick_start()
    assert "actorkit serve" in main_job and "pip install" in main_job
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()


def test_every_lint_rule_is_documented_as_the_code_has_it():
    rows = re.findall(r"^\| (AK\d{3}) \| (\S+) \| (\w+) \| (.+) \|$", README, re.M)
    assert [(c, n, s, w) for c, n, s, w in rows] == [
        (r.code, r.name, r.severity.value, r.summary) for r in RULES.values()]


def test_the_files_the_quick_start_names_exist():
    for path in re.findall(r"(\S+\.(?:yaml|jsonl))", quick_start_section()):
        assert (ROOT / path).is_file(), path


def test_the_python_example_runs_and_shows_what_its_comments_say(monkeypatch):
    block = README.split("## Actors in Python", 1)[1].split("```python\n", 1)[1]
    code = block.split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["result"].outputs[0]["type"] == "TODO_ADDED"
    assert scope["todo"].view(scope["bob"])["private"] == {"filter": "active"}
    assert scope["todo"].value == {"Initialization": "Ready", "TodoList": {}}
    assert scope["again"].snapshot() == scope["snapshot"]


def property_testing_section() -> str:
    return README.split("## Property testing", 1)[1].split("\n## ", 1)[0]


def test_the_printed_failure_is_what_the_printed_test_reproduces(monkeypatch):
    from actorkit.testing import PropertyFailure
    from actorkit.testing.report import describe

    printed = property_testing_section().split("$ actorkit test tests/proptest", 1)[1]
    printed = printed.split("```", 1)[0]
    message = re.search(r"^  (step-failed: .*)$", printed, re.M)[1]
    steps = re.findall(r"^ +\d+\. (.*)$", printed, re.M)
    code = "\n".join(line[4:] for line in printed.split("to reproduce it in a test:", 1)[1]
                     .splitlines())
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    [test] = [f for name, f in scope.items() if name.startswith("test_")]
    with pytest.raises(PropertyFailure) as caught:
        test()
    assert str(caught.value) == message
    # the numbered steps say what the test did, as the report words them
    [scenario] = [e.locals["s"] for e in caught.traceback if e.name == test.__name__]
    assert len(steps) == 4 and steps == [describe(step) for step in scenario.harness.trace]


def test_the_pytest_example_defines_what_it_says_and_its_invariant_catches_the_repeat(
        monkeypatch):
    from actorkit.testing import PropertyFailure, Scenario

    code = property_testing_section().split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert callable(scope["test_todo_chart"])
    assert issubclass(scope["TestTodo"], unittest.TestCase)
    # what the text after it says the report shrinks to
    twice = {"id": "0", "text": "0", "completed": False}
    s = Scenario("charts/todo.yaml", invariants=[scope["ids_are_unique"]]).spawn("client:alice")
    with pytest.raises(PropertyFailure) as caught:
        s.send("service:sync", {"type": "SYNC_TODOS", "todos": [twice, twice]})
    assert caught.value.check == "invariant:ids_are_unique"


def test_every_limit_is_documented_as_the_code_has_it():
    from actorkit.limits import Limits

    section = README.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(ACTORKIT_\w+)` \| ([^|]+) \| (.+) \|$", section, re.M)
    assert rows == [(env, default, doc) for _, env, default, doc in Limits.settings()]


def test_the_own_uvicorn_command_names_the_protocol_actorkit_serve_runs():
    from actorkit.server.protocol import PATH

    assert f"uvicorn actorkit.server:create_app --factory --http {PATH}\n" in README


def test_the_own_app_example_keeps_its_actors_in_the_project_across_a_restart(tmp_path):
    """The README's app.py, run by uvicorn as it says, twice on one project: an actor made
    by the first server is there for the second, in the project's .actorkit/actors.db."""
    import os
    import shutil
    import subprocess
    import sys
    import time

    import httpx
    from servers import SECRET, free_port

    from actorkit.auth import create_access_token

    own_app = README.split("**In your own app.**", 1)[1].split("```python\n", 1)[1]
    (tmp_path / "app.py").write_text(own_app.split("```", 1)[0])
    for folder in ("charts", "hooks", "schemas"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = {k: v for k, v in os.environ.items() if k not in ("ACTORKIT_DB", "ACTORKIT_PROJECT")}
    token = create_access_token(SECRET, "list-1", "todo", "ann", "client")
    headers = {"Authorization": f"Bearer {token}"}

    def run_app() -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level",
             "warning"], cwd=tmp_path, env={**env, "ACTOR_KIT_SECRET": SECRET})
        url = f"http://127.0.0.1:{port}/api/todo/list-1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                httpx.get(url, headers=headers, timeout=2)
                return server, url
            except httpx.TransportError:
                time.sleep(0.1)
        server.kill()
        server.wait(timeout=10)
        raise AssertionError("the README's app did not start within 30 s")

    def stop(server: subprocess.Popen[bytes]) -> None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)

    server, url = run_app()
    try:
        sent = httpx.post(url, headers=headers, json={"type": "ADD_TODO", "text": "Buy milk"})
        assert sent.status_code == 200, sent.text
    finally:
        stop(server)
    server, url = run_app()
    try:
        todos = httpx.get(url, headers=headers).json()["snapshot"]["public"]["todos"]
    finally:
        stop(server)
    assert [todo["text"] for todo in todos] == ["Buy milk"]
    assert (tmp_path / ".actorkit" / "actors.db").is_file()


def test_every_environment_variable_the_code_reads_is_documented():
    from actorkit.limits import Limits

    section = README.split("**Settings.**", 1)[1].split("\n### ", 1)[0]
    settings = re.findall(r"^\| `(ACTOR_?KIT_\w+)` \| ([^|]+) \| (.+) \|$", section, re.M)
    documented = {name for name, _, _ in settings} | {env for _, env, _, _ in Limits.settings()}
    read = set()
    for file in (ROOT / "actorkit").rglob("*.py"):
        read |= set(re.findall(r'"(ACTOR_?KIT_[A-Z_]+)"', file.read_text()))
    assert documented == read
    defaults = {name: default for name, default, _ in settings}
    assert defaults["ACTORKIT_PROJECT"] == "the working directory"
    assert defaults["ACTORKIT_DB"] == "`<project>/.actorkit/actors.db`"


def test_the_extras_are_those_of_the_package():
    import tomllib

    section = README.split("## Installing actorkit in your own project", 1)[1]
    section = section.split("\n## ", 1)[0]
    extras = re.findall(r"^\| `(\w+)` \| ", section, re.M)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert extras == list(project["optional-dependencies"])
