"""Property-test a chart with hypothesis (``pip install "actorkit[testing]"``).

In a test suite, either let the kit run everything and fail with its report::

    from actorkit.testing import assert_chart

    def test_todo_chart():
        assert_chart("charts/todo.yaml", max_examples=200)

or take the hypothesis state machine itself, with invariants and event strategies of your own::

    from actorkit.testing import machine_for

    def fewer_than_ten(actor):
        return len(actor.context["public"]["todos"]) < 10

    TestTodo = machine_for("charts/todo.yaml", invariants=[fewer_than_ten]).TestCase

``actorkit test charts/`` runs the same from the command line.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("actorkit.testing needs hypothesis: pip install \"actorkit[testing]\"") \
        from None

from .harness import Harness, Invariant, PropertyFailure, Step
from .machine import ChartMachine, RunFailure, machine_for
from .runner import Result, assert_chart, check_chart
from .scenario import Scenario
from .strategies import callers, events, from_schema, inputs, invalid_events

__all__ = [
    "ChartMachine",
    "Harness",
    "Invariant",
    "PropertyFailure",
    "Result",
    "RunFailure",
    "Scenario",
    "Step",
    "assert_chart",
    "callers",
    "check_chart",
    "events",
    "from_schema",
    "inputs",
    "invalid_events",
    "machine_for",
]
