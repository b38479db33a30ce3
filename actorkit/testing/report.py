"""How a property-test result reads: one line when it held; when it broke, the property, the
shrunk run step by step, and a pytest test that reproduces it (text), or the same as JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .harness import Step

if TYPE_CHECKING:
    from .runner import Result

__all__ = ["coverage_text", "describe", "json_report", "pytest_code", "run_text",
           "scenario_code", "text_report"]


def describe(step: Step) -> str:
    """One step of a run, for people."""
    if step.op == "spawn":
        given = f" with input {_json(step.event)}" if step.event is not None else ""
        return f"{step.caller} spawns the actor{given}"
    if step.op == "send":
        return f"{step.caller} sends {_json(step.event)}"
    if step.op == "invalid":
        return f"{step.caller} sends {_json(step.event)} (breaks its schema)"
    if step.op == "wait":
        return f"{step.seconds:g} s pass"
    if step.op == "restore":
        return "the actor is snapshotted and restored"
    if step.op == "deliver":
        refused = f" is refused: {step.event['refused']}" if step.event else " is delivered"
        return f"the oldest message the actor told{refused}"
    return f"{step.caller} {step.op}s"


def pytest_code(result: Result) -> str:
    """A test function that replays the shrunk run with :class:`~actorkit.testing.Scenario`."""
    steer = "" if result.steer else " --no-steer"
    imports = []
    if result.check.startswith("invariant:"):
        name = result.check.partition(":")[2]
        where = _importable(result, name)
        if where is not None:
            imports.append(f"from {where[0]} import {where[1]}")
            found = (f"found by: actorkit test {result.source} --invariant "
                     f"{where[0]}:{where[1]}{steer} --seed {result.seed}")
        else:
            found = (f"found by check_chart({result.source!r}, seed={result.seed}, "
                     f"invariants=[{name}, ...]{', steer=False' if steer else ''})")
    else:
        found = f"found by: actorkit test {result.source}{steer} --seed {result.seed}"
    return scenario_code(result.chart.actor_type, result.source, result.check, result.trace,
                         found, imports, peers=result.peers)


def _importable(result: Result, name: str) -> tuple[str, str] | None:
    """The module and name to import the invariant ``name`` from, if it can be."""
    for given, function in result.invariants:
        if given == name:
            module = getattr(function, "__module__", None)
            qualname = getattr(function, "__qualname__", "")
            if module and module != "__main__" and "<" not in qualname and \
                    qualname.split(".")[0].isidentifier():
                return module, qualname.split(".")[0]
    return None


def scenario_code(actor_type: str, source: str, check: str, trace: list[Step],
                  comment: str, imports: list[str] | None = None,
                  peers: Sequence[str] | None = None) -> str:
    """A test function that replays ``trace`` on the chart at ``source`` and so breaks
    ``check`` again; ``imports`` are lines to put after the Scenario import; ``peers`` the
    charts tested with it (named only when what it told them broke the check)."""
    name = re.sub(r"\W+", "_", actor_type).strip("_") or "chart"
    lines = ["from actorkit.testing import Scenario", *(imports or []), "", "",
             f"def test_{name}_{check.replace(':', '_').replace('-', '_')}():",
             f"    # {comment}"]
    given = f", peers={list(peers)!r}" if peers and check == "tell-refused" else ""
    if check.startswith("invariant:"):  # the user's own function: import it
        lines.append(f"    s = Scenario({source!r}, invariants=[{check.partition(':')[2]}])")
    else:
        lines.append(f"    s = Scenario({source!r}{given})")
    for step in trace:
        if step.op == "spawn":
            given = f", input={step.event!r}" if step.event is not None else ""
            lines.append(f"    s.spawn({step.caller!r}{given})")
        elif step.op in ("send", "invalid"):
            method = "send" if step.op == "send" else "send_invalid"
            lines.append(f"    s.{method}({step.caller!r}, {step.event!r})")
        elif step.op == "wait":
            lines.append(f"    s.wait({step.seconds!r})")
        elif step.op == "restore":
            lines.append("    s.restore()")
        elif step.op == "deliver":
            refused = f"refused={step.event['refused']!r}" if step.event else ""
            lines.append(f"    s.deliver({refused})")
        else:
            lines.append(f"    s.{step.op}({step.caller!r})")
    return "\n".join(lines) + "\n"


def text_report(result: Result) -> str:
    """The result for a terminal: a line, what the runs reached, and for a failure the
    property, the shrunk run and a test."""
    if result.failure is None:
        return (f"{result.source}: every property held in {result.examples} runs "
                f"({result.seconds:.1f} s, seed {result.seed})\n{coverage_text(result)}")
    head = (f"{result.source}: FAILED in run {result.found_in}, shrunk in "
            f"{result.examples - (result.found_in or 0)} more ({result.seconds:.1f} s, seed "
            f"{result.seed})\n{coverage_text(result)}\n  {_failure(result)}\n\n")
    return head + run_text(result.trace, f"shrunk to {len(result.trace)} steps",
                           "to reproduce it in a test", pytest_code(result))


def coverage_text(result: Result) -> str:
    """``  coverage: states 6/7, transitions 10/13``, then what was never reached."""
    coverage = result.coverage
    if coverage is None:
        return ""
    lines = [f"  coverage: {coverage.summary()}"]
    if coverage.missed_states:
        lines.append(f"    never entered: {', '.join(coverage.missed_states)}")
    if coverage.missed_transitions:
        lines.append(f"    never taken: {', '.join(coverage.missed_transitions)}")
    return "\n".join(lines) + "\n"


def run_text(trace: list[Step], title: str, code_title: str, code: str) -> str:
    """``trace`` as numbered steps under ``title``, then ``code`` under ``code_title``."""
    lines = [f"  {title}:", *(f"  {i:>3}. {describe(step)}" for i, step in enumerate(trace, 1)),
             "", f"  {code_title}:", ""]
    lines += [f"    {line}" if line else "" for line in code.splitlines()]
    return "\n".join(lines) + "\n"


def json_report(result: Result) -> dict[str, Any]:
    """The result as JSON-ready data (the fields are stable)."""
    out: dict[str, Any] = {
        "chart": result.source, "actor": result.chart.actor_type, "ok": result.ok,
        "runs": result.examples, "found_in": result.found_in,
        "max_examples": result.max_examples,
        "seconds": round(result.seconds, 3), "seed": result.seed, "steer": result.steer,
    }
    if result.coverage is not None:
        out["coverage"] = result.coverage.to_json()
    if result.failure is not None:
        out["check"] = result.check
        out["message"] = _failure(result)
        out["steps"] = [{"op": s.op, "caller": s.caller, "event": s.event,
                         "seconds": s.seconds, "text": describe(s)} for s in result.trace]
        out["test"] = pytest_code(result)
    return out


def _failure(result: Result) -> str:
    failure = result.failure
    if failure is None:
        return ""
    text = str(failure) or type(failure).__name__
    if result.check == "error":
        return f"error: {type(failure).__name__}: {text}"
    return text


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # as sent: `type` first
