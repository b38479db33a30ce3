"""Events per second through an actor of charts/todo.yaml vs plain sismic on the same chart.

Plain sismic is sismic's own Interpreter with its PythonEvaluator, driven the usual way
(``queue(event)`` then ``execute()``), on bench/todo_sismic.yaml: the same statechart with the
hooks' work as inline code. The actor does more per event (schema checks of the event and the
context, a rollback point, a JSON commit snapshot); the target is still 1.5x sismic's rate.

The two run in interleaved rounds in one process and the verdict is the median of the
per-round ratios, so load from other processes on a shared machine cancels out.

A second table measures what step deadlines cost: the same actor's events with a budget armed
around each (as the actor system runs them, the interval timer ticking) against the same
events with the deadline machinery taken out. Target: at most a few percent (1.05x of the CPU).

    python bench/step.py [--rounds 40] [--events 300]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from sismic.interpreter import Interpreter
from sismic.io import import_from_yaml
from sismic.model import Event

from actorkit import Actor, Caller, deadline, load_chart

HERE = Path(__file__).resolve().parent
TARGET = 1.5
DEADLINE_TARGET = 1.05


def plain_round(interp: Interpreter, n: int) -> float:
    """n ADD/TOGGLE/REMOVE triples through plain sismic; returns events per CPU second."""
    start = time.process_time()
    for _ in range(n):
        interp.queue(Event("ADD_TODO", text="buy milk"))
        interp.execute()
        todo_id = interp.context["public"]["todos"][-1]["id"]
        interp.queue(Event("TOGGLE_TODO", id=todo_id))
        interp.execute()
        interp.queue(Event("REMOVE_TODO", id=todo_id))
        interp.execute()
    return 3 * n / (time.process_time() - start)


def actor_round(actor: Actor, caller: Caller, n: int, budget: float | None = None) -> float:
    """The same triples through an actor; returns events per CPU second. With ``budget``,
    each event runs under a deadline of that many seconds, as in the actor system."""
    send = actor.send if budget is None else _under_deadline(actor, budget)
    start = time.process_time()
    for _ in range(n):
        send({"type": "ADD_TODO", "text": "buy milk"}, caller)
        todo_id = actor.view(caller)["public"]["todos"][-1]["id"]
        send({"type": "TOGGLE_TODO", "id": todo_id}, caller)
        send({"type": "REMOVE_TODO", "id": todo_id}, caller)
    return 3 * n / (time.process_time() - start)


def _under_deadline(actor: Actor, budget: float) -> Any:
    def send(event: dict[str, Any], caller: Caller) -> None:
        deadline.attempt(budget, actor.send, event, caller)  # as a cell runs a step
    return send


def deadline_cost(actor: Actor, caller: Caller, n: int, rounds: int) -> float:
    """CPU per event with deadlines over CPU per event without, median of interleaved
    rounds; prints the table."""
    enter = deadline.enter
    with_, without, ratios = [], [], []
    for _ in range(rounds):
        deadline.enter = _no_deadline  # type: ignore[assignment]
        try:
            bare = actor_round(actor, caller, n)
        finally:
            deadline.enter = enter  # type: ignore[assignment]
        guarded = actor_round(actor, caller, n, budget=0.05)
        without.append(bare)
        with_.append(guarded)
        ratios.append(bare / guarded)
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    ratio = statistics.median(ratios)
    print(f"without deadlines {statistics.median(without):8.0f} events/s")
    print(f"with deadlines    {statistics.median(with_):8.0f} events/s")
    print(f"CPU per event     {ratio:8.3f}x  (quartiles {q1:.3f}-{q3:.3f}; target <= "
          f"{DEADLINE_TARGET}x)")
    return ratio


def _no_deadline() -> None:
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--events", type=int, default=300, help="events per round and side")
    args = parser.parse_args()
    n = max(1, args.events // 3)

    interp = Interpreter(import_from_yaml(filepath=str(HERE / "todo_sismic.yaml")))
    interp.execute()
    caller = Caller.client("bench")
    actor = Actor.spawn(load_chart(HERE.parent / "charts" / "todo.yaml"), "bench", caller=caller)
    plain_round(interp, n)  # warm up both sides (code caches, memo tables)
    actor_round(actor, caller, n)

    plain, ours, ratios = [], [], []
    for _ in range(args.rounds):
        p = plain_round(interp, n)
        a = actor_round(actor, caller, n)
        plain.append(p)
        ours.append(a)
        ratios.append(a / p)
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    ratio = statistics.median(ratios)
    print(f"plain sismic  {statistics.median(plain):8.0f} events/s "
          f"(median of {args.rounds} rounds)")
    print(f"actorkit      {statistics.median(ours):8.0f} events/s")
    print(f"ratio         {ratio:8.2f}x  (quartiles {q1:.2f}-{q3:.2f}; target >= {TARGET}x)")
    print("PASS" if ratio >= TARGET else "FAIL")
    print()
    cost = deadline_cost(actor, caller, n, args.rounds)
    print("PASS" if cost <= DEADLINE_TARGET else "FAIL")
    return 0 if ratio >= TARGET and cost <= DEADLINE_TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
