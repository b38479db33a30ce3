"""How a property-test result reads: one line when it held; when it broke, the property, the
shrunk run step by step, and a pytest test that reproduces it (text), or the same as JSON."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from .harness import Step

if TYPE_CHECKING:
    from .runner import Result

__all__ = ["describe", "json_report", "pytest_code", "run_text", "scenario_code",
           "text_report"]


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
    return f"{step.caller} {step.op}s"


def pytest_code(result: Result) -> str:
    """A test function that replays the shrunk run with :class:`~actorkit.testing.Scenario`."""
    if result.check.startswith("invariant:"):
        found = (f"found by check_chart({result.source!r}, seed={result.seed}, "
                 f"invariants=[{result.check.partition(':')[2]}, ...])")
    else:
        found = f"found by: actorkit test {result.source} --seed {result.seed}"
    return scenario_code(result.chart.actor_type, result.source, result.check, result.trace,
                         found)


def scenario_code(actor_type: str, source: str, check: str, trace: list[Step],
                  comment: str) -> str:
    """A test function that replays ``trace`` on the chart at ``source`` and so breaks
    ``check`` again."""
    name = re.sub(r"\W+", "_", actor_type).strip("_") or "chart"
    lines = ["from actorkit.testing import Scenario", "", "",
             f"def test_{name}_{check.replace(':', '_').replace('-', '_')}():",
             f"    # {comment}"]
    if check.startswith("invariant:"):  # the user's own function: import it
        lines.append(f"    s = Scenario({source!r}, invariants=[{check.partition(':')[2]}])")
    else:
        lines.append(f"    s = Scenario({source!r})")
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
        else:
            lines.append(f"    s.{step.op}({step.caller!r})")
    return "\n".join(lines) + "\n"


def text_report(result: Result) -> str:
    """The result for a terminal."""
    if result.failure is None:
        return (f"{result.source}: every property held in {result.examples} runs "
                f"({result.seconds:.1f} s, seed {result.seed})\n")
    head = (f"{result.source}: FAILED in run {result.found_in}, shrunk in "
            f"{result.examples - (result.found_in or 0)} more ({result.seconds:.1f} s, seed "
            f"{result.seed})\n\n  {_failure(result)}\n\n")
    return head + run_text(result.trace, f"shrunk to {len(result.trace)} steps",
                           "to reproduce it in a test", pytest_code(result))


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
        "seconds": round(result.seconds, 3), "seed": result.seed,
    }
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
