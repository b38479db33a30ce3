"""How each SCION test runs through an actorkit ``Actor`` under each semantics.

``outcome(test, semantics, folder)`` writes the test's chart into ``folder`` with
``semantics: ...`` as its first line (none for ``sismic``, the default), loads it, spawns an
actor, and after its start and after every event of the test's JSON (each sent by a client,
then the actor snapshotted and restored from the snapshot, the run going on with the restored
one) compares the atomic states of its configuration with what SCION expects. ``None`` is
a pass; a failure is the first reason, as the short line tests/test_scion.py lists and a
longer detail.

Run as a script, it prints the outcome of every test, the figures of each set and semantics,
and the dicts of failures to paste into tests/test_scion.py::

    .venv/bin/python tests/scion/outcomes.py
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

from actorkit import Actor, Caller, inspect_chart

SUITE = Path(__file__).resolve().parent
SEMANTICS = ("sismic", "scxml")
tester = Caller.client("tester")


@dataclass(frozen=True)
class Failure:
    """Why a test failed: ``reason`` is short and stable (what tests/test_scion.py lists),
    ``detail`` says more (messages, configurations)."""

    reason: str
    detail: str


def every_test() -> list[str]:
    """Every test, as ``group/name``, sorted."""
    return sorted(str(p.relative_to(SUITE).with_suffix("")) for p in SUITE.rglob("*.scxml"))


def uses_raise(test: str) -> bool:
    """Whether a test is in the second set, the one whose charts raise events."""
    return "<raise" in (SUITE / f"{test}.scxml").read_text("utf-8")


def sets() -> dict[str, list[str]]:
    """The two sets: the issue's 73 structural tests, and the 10 that also ``<raise>``."""
    every = every_test()
    return {"structural": [t for t in every if not uses_raise(t)],
            "raise": [t for t in every if uses_raise(t)]}


def chart_file(test: str, semantics: str, folder: Path) -> Path:
    """The test's chart under ``semantics``, written into ``folder`` (its schemas file named
    by its absolute path). ``sismic`` is the default, which a chart without the line gets:
    the line is left out so that what is measured is what every existing chart gets."""
    text = (SUITE / f"{test}.yaml").read_text("utf-8")
    text = re.sub(r"(?m)^schemas: (.*)$",
                  lambda m: f"schemas: {json.dumps(str(SUITE / m[1]))}", text, count=1)
    file = folder / f"{test.replace('/', '--')}.{semantics}.yaml"
    line = "" if semantics == "sismic" else f"semantics: {semantics}\n"
    file.write_text(line + text, "utf-8")
    return file


def atomic(actor: Actor) -> list[str]:
    """The atomic states of the actor's configuration: the active states with no active
    child (so a compound state left without an active child shows, where SCION expects
    one of its children)."""
    config = actor.configuration
    sc = actor.chart.statechart
    return sorted(s for s in config if not any(c in config for c in sc.children_for(s)))


def outcome(test: str, semantics: str, folder: Path) -> Failure | None:
    """Run one test under one semantics (see the module's docstring)."""
    expected = json.loads((SUITE / f"{test}.json").read_text("utf-8"))
    found = inspect_chart(chart_file(test, semantics, folder))
    if found.chart is None:
        errors = found.errors or found.diagnostics
        heads = dict.fromkeys(f"{d.code} {_head(d.message)}" for d in errors)
        return Failure(f"refused: {'; '.join(heads)}",
                       "; ".join(f"{d.code} {d.message}" for d in errors))
    chart = found.chart
    where = "start"
    try:
        actor = Actor.spawn(chart, "one", caller=tester)
        steps = [(None, expected["initialConfiguration"])]
        steps += [(s["event"]["name"], s["nextConfiguration"]) for s in expected["events"]]
        for k, (name, want) in enumerate(steps):
            if name is not None:
                where = f"step {k} ({name})"
                actor.send({"type": name}, tester)
                actor = Actor.restore(chart, actor.snapshot())
            got = atomic(actor)
            if got != sorted(want):
                return Failure(f"{where}: expected {sorted(want)}, got {got}",
                               f"configuration {actor.configuration}")
    except Exception as e:  # any failure is an outcome to report, not a crash of the run
        return Failure(f"{where}: {type(e).__name__}: {_head(str(e))}",
                       f"{type(e).__name__}: {e}")
    return None


def _head(message: str) -> str:
    """What a message says went wrong, without what it says to do (or the rest of the
    details), which may name paths and change with wording."""
    return message.split(": ", 1)[0].splitlines()[0] if message else ""


def run_all() -> dict[tuple[str, str], Failure | None]:
    """Every test under every semantics."""
    with tempfile.TemporaryDirectory() as tmp:
        return {(t, s): outcome(t, s, Path(tmp)) for s in SEMANTICS for t in every_test()}


def report(results: dict[tuple[str, str], Failure | None]) -> str:
    """The outcome table, the figures per set and semantics, and the dicts of failures."""
    lines = []
    for (test, semantics), failure in results.items():
        verdict = "pass" if failure is None else f"FAIL {failure.reason} -- {failure.detail}"
        lines.append(f"{semantics:6} {test:45} {verdict}")
    lines.append("")
    for semantics in SEMANTICS:
        figures = [f"{sum(results[t, semantics] is None for t in tests_)}/{len(tests_)} "
                   f"{name}" for name, tests_ in sets().items()]
        lines.append(f"{semantics}: passes {', '.join(figures)}")
    for semantics in SEMANTICS:
        failures = sorted((f.reason, t) for (t, s), f in results.items()
                          if s == semantics and f is not None)
        lines.append(f"\n{semantics.upper()}_FAILS = {{")
        lines += [_entry(test, reason) for reason, test in failures]
        lines.append("}")
    return "\n".join(lines)


def _entry(test: str, reason: str) -> str:
    """One line of a dict to paste (within 100 columns: a long reason goes on lines of its
    own, as adjacent strings)."""
    line = f"    {_q(test)}: {_q(reason)},"
    if len(line) <= 100:
        return line
    chunks = textwrap.wrap(reason, 84, drop_whitespace=False, break_on_hyphens=False,
                           break_long_words=False)
    assert "".join(chunks) == reason
    return "\n".join([f"    {_q(test)}: (", *(f"        {_q(c)}" for c in chunks), "    ),"])


def _q(text: str) -> str:
    """A Python string literal in double quotes (JSON's escapes are Python's too)."""
    return json.dumps(text, ensure_ascii=False)


if __name__ == "__main__":
    print(report(run_all()))
    sys.exit(0)
