"""Run a chart's state machine under hypothesis and say what it found.

:func:`check_chart` is what ``actorkit test`` runs for each chart, and what a test suite can call
(:func:`assert_chart` raises with the report instead). A failure comes back shrunk: the
shortest run hypothesis found that breaks the same property, as :class:`~actorkit.testing.Step`
records that :mod:`~actorkit.testing.report` prints as a table and as a pytest test.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis.stateful import get_state_machine_test

from ..chart import Chart
from ..coverage import Coverage
from .harness import Harness, Invariant, PropertyFailure, Step, as_chart, chart_source
from .machine import RunFailure, machine_for
from .steering import Steering

__all__ = ["Result", "assert_chart", "check_chart"]

#: A steered check runs its examples in this many rounds, each steered by what the rounds
#: before it reached (hypothesis wants the weights to stay the same within one test).
ROUNDS = 5


@dataclass
class Result:
    """What property-testing one chart found: how many runs (``examples``, shrinking
    included) in how long, the seed that repeats them, and the failure (``None`` if every run
    held) with the shrunk ``trace`` of the run that breaks it; the ``coverage`` of all the
    runs (the states they entered, the transitions they took)."""

    chart: Chart
    source: str
    seed: int
    max_examples: int
    examples: int = 0
    seconds: float = 0.0
    failure: BaseException | None = None
    trace: list[Step] = field(default_factory=list)
    #: the run that first broke a property (the runs after it shrank the failure)
    found_in: int | None = None
    coverage: Coverage | None = None
    #: whether the runs were steered towards what earlier runs had not reached
    steer: bool = True
    #: the user's invariants, by name
    invariants: tuple[tuple[str, Invariant], ...] = ()
    #: the charts tested with it (which it may message), as their sources
    peers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def check(self) -> str:
        """The property that broke (``error`` for an exception that is not a property)."""
        if isinstance(self.failure, PropertyFailure):
            return self.failure.check
        return "error" if self.failure is not None else ""


def check_chart(chart: Chart | str | Path, *, max_examples: int = 100, seed: int | None = None,
                steps: int = 50, invariants: Iterable[Invariant | tuple[str, Invariant]] = (),
                events: Mapping[str, st.SearchStrategy[dict[str, Any]]] | None = None,
                leaks: bool = True, steer: bool = True,
                progress: Callable[[Result], None] | None = None,
                peers: Iterable[Chart] = ()) -> Result:
    """Property-test ``chart``: up to ``max_examples`` runs of up to ``steps`` steps each,
    from ``seed`` (random if not given: the result has it, to repeat the run).
    ``invariants``, ``events``, ``leaks`` and ``peers`` (the charts tested with it, which
    it may message) are :func:`machine_for`'s. Unless ``steer`` is
    false, the runs are made in rounds (:data:`ROUNDS`), and each round sends more often the
    events that lead towards the states and transitions the rounds before did not reach (see
    :class:`~actorkit.testing.steering.Steering`). ``progress``
    is called with the result so far as each run starts (``examples`` counts the runs;
    ``found_in`` is set once a property broke and the runs that follow shrink it)."""
    loaded = as_chart(chart)
    result = Result(loaded, chart_source(loaded),
                    seed if seed is not None else random.randrange(2**32), max_examples)
    machine = machine_for(loaded, invariants=invariants, events=events, leaks=leaks,
                          peers=peers)
    result.coverage, result.steer, result.invariants = machine.coverage, steer, machine.checks
    result.peers = tuple(chart_source(p) for p in machine.peers.values())
    last: list[Harness] = []

    def started(harness: Harness) -> None:
        if last and last[0].failure is not None and result.found_in is None:
            result.found_in = result.examples  # the rest of the runs shrink it
        last[:] = [harness]
        result.examples += 1
        if progress is not None:
            progress(result)

    machine.on_run = started
    # unsteered: one hypothesis test of them all; steered: a few, each with its own seed
    size = max_examples if not steer else min(max_examples, max(
        10, math.ceil(max_examples / ROUNDS)))
    began = time.perf_counter()
    done = 0
    while done < max_examples:
        runs = min(size, max_examples - done)
        test = get_state_machine_test(machine, settings=hypothesis.settings(
            max_examples=runs, stateful_step_count=steps, deadline=None, database=None,
            derandomize=False, print_blob=False, report_multiple_bugs=False,
            verbosity=Verbosity.quiet, suppress_health_check=[HealthCheck.too_slow],
            phases=[Phase.explicit, Phase.generate, Phase.shrink]))
        test = hypothesis.seed(result.seed + done // size)(test)
        try:
            test()
        except Exception as e:  # the last run is the shrunk one: hypothesis replays it
            result.failure = e.failure if isinstance(e, RunFailure) else e
            result.trace = list(last[0].trace) if last else []
            if result.found_in is None:
                result.found_in = result.examples
            break
        done += runs
        if steer:
            machine.steering = Steering(loaded.statechart, machine.coverage)
    result.seconds = time.perf_counter() - began
    return result


def assert_chart(chart: Chart | str | Path, **options: Any) -> Result:
    """:func:`check_chart`, raising ``AssertionError`` with the whole report (the shrunk run
    and a test that reproduces it) if a property breaks. For a project's own test suite."""
    from .report import text_report

    result = check_chart(chart, **options)
    if result.failure is not None:
        # a broken property is all in the report; anything else keeps its own traceback
        cause = None if isinstance(result.failure, PropertyFailure) else result.failure
        raise AssertionError(text_report(result)) from cause
    return result
