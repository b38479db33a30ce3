"""Bytes per idle actor: 10,000 spawned actors of charts/todo.yaml, kept in memory.

Measured with tracemalloc in this process: the growth while 10,000 actors are created and
held, divided by 10,000, minus what the actor's context itself takes (measured the same way
on 10,000 copies of it). The same is done for plain sismic interpreters of the same chart
(bench/todo_sismic.yaml, started) as a reference. Target: <= 3 KB per idle actor beyond its
context.

    python bench/memory.py [--actors 10000]
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from sismic.interpreter import Interpreter
from sismic.io import import_from_yaml

from actorkit import Actor, Caller, load_chart

HERE = Path(__file__).resolve().parent
TARGET = 3 * 1024


def per_object(make: Callable[[int], Any], n: int) -> float:
    """Average traced bytes of ``n`` objects made by ``make(i)`` and held together."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = [make(i) for i in range(n)]
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del held
    return (after - before) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actors", type=int, default=10_000)
    args = parser.parse_args()
    n = args.actors

    chart = load_chart(HERE.parent / "charts" / "todo.yaml")
    caller = Caller.client("bench")
    clock = lambda: 1_000_000.0  # noqa: E731 - one instant: no clock object per actor
    Actor.spawn(chart, "warm-up", caller=caller, clock=clock)  # memo tables, code caches

    actor_bytes = per_object(lambda i: Actor.spawn(chart, f"a-{i}", caller=caller, clock=clock),
                             n)
    context = orjson.dumps(Actor.spawn(chart, "c", caller=caller, clock=clock).context)
    context_bytes = per_object(lambda i: orjson.loads(context), n)

    statechart = import_from_yaml(filepath=str(HERE / "todo_sismic.yaml"))

    def plain(i: int) -> Interpreter:
        interp = Interpreter(statechart)
        interp.execute()
        return interp

    plain_bytes = per_object(plain, n)

    beyond = actor_bytes - context_bytes
    print(f"actorkit actor     {actor_bytes:8.0f} B each ({n} idle actors)")
    print(f"  its context      {context_bytes:8.0f} B")
    print(f"  beyond context   {beyond:8.0f} B  (target <= {TARGET} B)")
    print(f"plain sismic       {plain_bytes:8.0f} B each (started interpreter, same chart)")
    print("PASS" if beyond <= TARGET else "FAIL")
    return 0 if beyond <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
