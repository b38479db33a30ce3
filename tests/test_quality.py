"""The code base stays typed (mypy --strict, as configured in pyproject.toml) and lint-clean."""

from __future__ import annotations

import subprocess
import sys

from support import ROOT


def test_mypy_strict_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "actorkit", "tests", "bench"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tests_actor_systems_name_their_store():
    """An ActorSystem made without a store opens the project's .actorkit/actors.db: in a
    test, that is the repository's own folder. Each test says where its actors live (a
    store, or a project folder of its own in ACTORKIT_PROJECT)."""
    import ast

    unnamed = []
    for file in sorted((ROOT / "tests").rglob("*.py")):
        text = file.read_text()
        tree = ast.parse(text, str(file))
        own_project = {id(node) for test in ast.walk(tree)
                       if isinstance(test, ast.FunctionDef)
                       and 'setenv("ACTORKIT_PROJECT"' in (ast.get_source_segment(text, test) or "")
                       for node in ast.walk(test)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "ActorSystem" and id(node) not in own_project
                    and not any(k.arg in ("store", None) for k in node.keywords)):
                unnamed.append(f"{file.relative_to(ROOT)}:{node.lineno}")
    assert unnamed == [], "pass store= (a MemoryStore, or a SqliteStore in tmp_path)"
