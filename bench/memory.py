"""Bytes per idle actor: 10,000 spawned actors of charts/todo.yaml, kept in memory.

Measured with tracemalloc in this process: the growth while 10,000 actors are created and
held, divided by 10,000, minus what the actor's context itself takes (measured the same way
on 10,000 copies of it). The same is done for plain sismic interpreters of the same chart
(bench/todo_sismic.yaml, started) as a reference. Target: <= 3 KB per idle actor beyond its
context.

Then a large actor: one todo list filled to its schema's cap (1,000 todos of 500
characters) one ADD_TODO at a time through an actor system, with a client connected, and
what the system holds for it afterwards. Target: <= 4 times its stored state, plus the view
cache (ACTORKIT_VIEW_CACHE).

    python bench/memory.py [--actors 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from sismic.interpreter import Interpreter
from sismic.io import import_from_yaml

from actorkit import Actor, Caller, Chart, load_chart
from actorkit.runtime import ActorSystem
from actorkit.store import MemoryStore

HERE = Path(__file__).resolve().parent
TARGET = 3 * 1024
MiB = 1024 * 1024


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
    held, stored, cache = asyncio.run(full_list(chart))
    target = 4 * stored + cache
    print(f"a full todo list   {held / MiB:8.2f} MiB held, {stored / MiB:.2f} MiB stored "
          f"(target <= {target / MiB:.2f} MiB: 4x stored + view cache)")
    ok = beyond <= TARGET and held <= target
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


async def full_list(chart: Chart) -> tuple[int, int, int]:
    """Bytes an actor system holds for one todo list filled to its cap one ADD_TODO at a
    time, with a client connected; the bytes of its stored state; the view cache's limit."""
    system = ActorSystem({"todo": chart}, store=MemoryStore(journal=False))
    caller = Caller.client("bench")
    await system.send("todo", "warm-up", caller, {"type": "ADD_TODO", "text": "x"})
    frames: list[str] = []
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    conn = await system.connect("todo", "full", caller, frames.append)
    for i in range(1000):
        await system.send("todo", "full", caller,
                          {"type": "ADD_TODO", "text": f"{i:04d}" + "x" * 496})
    frames.clear()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    actor = system.get("todo", "full")
    assert actor is not None
    stored = len(actor.snapshot_json())
    await system.disconnect(conn)
    return held, stored, system.limits.view_cache


if __name__ == "__main__":
    raise SystemExit(main())
