"""Durable actors: commit rate per store, restore time and memory for 100,000 stored actors.

1. Committed events per second for one actor of charts/todo.yaml driven through
   ``ActorSystem.send`` (in process, asyncio, no HTTP), with ``SqliteStore(durability=
   "process")`` (WAL, synchronous=NORMAL), ``SqliteStore(durability="power")`` (an fsync per
   commit) and ``MemoryStore`` as the baseline. Each event is one store transaction: its
   journal entry and the new snapshot. The stream is ADD_TODO, TOGGLE_TODO, REMOVE_TODO,
   repeated. The three run in interleaved rounds in one process (their order rotating); the
   figures are medians of the per-round rates and of the per-round ratios to MemoryStore, on
   wall time (an fsync is waiting, not CPU) with CPU time beside it.

   Then the same with 16 senders at once (``--senders``), each waiting for its answer before
   its next event, as 16 clients of one busy actor would: the events that reach the actor
   together are stored in one transaction (group commit); the table adds the mean number of
   events per transaction. Then 16 senders each on an actor of its own, as the clients of
   16 actors: their commits share SQLite transactions too.

2. 100,000 todo actors in a SQLite file, each with 3 todos (spawn, 3 x ADD_TODO, TOGGLE_TODO:
   five journal entries and a ~1 KB snapshot). One template actor is made through an
   ActorSystem; its rows are then written under the other ids in large transactions, with the
   actor id and the todo ids (``ctx.new_id()`` derives them from the actor id) substituted, and
   a sample is checked by replaying its journal (``actorkit.journal.replay``) against its
   stored snapshot. Then, each in a fresh process (a subprocess of this script):

   - touch, no passivation (``idle_after=None``): open the store, ``start()`` (timed), then
     ``snapshot()`` (the GET) once on every actor in a shuffled order, yielding to the event
     loop after each, as a server would between requests; VmRSS (``/proc/self/status``) and
     ``ActorSystem.active`` at every tenth; the time the cyclic garbage collector held the
     thread (``gc.callbacks``); at the end, one passivation sweep over the resident actors
     (none idle; actors are kept least recently used first, so a sweep stops at the first
     one used within ``idle_after``) and one ``gc.collect()`` are timed.
   - touch, passivation (``idle_after=1`` s, ``--quick``: 0.25 s; real clock, the system's
     own periodic sweep): the same touches; then, after 2 x idle_after, the resident count
     and VmRSS again.
   - restore: ``start()``, then interleaved rounds of 1,000 first touches (a restore from
     SQLite: load, parse, Actor.restore, RESUME if handled) against 1,000 touches of actors
     already in memory, and against 1,000 first touches of unknown ids (spawn + SQLite commit);
     medians of the per-round ratios, on CPU time.
   - start: every stored actor given a wake-up an hour away, ``start()`` timed (it arms them
     all).

   Target (the issue: "Memory stays bounded while 100,000 distinct actors are touched once
   each"): with passivation, VmRSS grows over the second half of the touches by at most 10%
   of what it grows over the same half without passivation, and no actor is left in memory
   after idle_after has passed.

    python bench/store.py            # 100,000 actors; about 3 minutes
    python bench/store.py --quick    # 10,000 actors, fewer rounds; about 25 s
    python bench/store.py [--actors N] [--rounds R] [--events E] [--idle-after S] [--dir D]

The SQLite files go to a temporary directory under ``--dir`` (default: the system's temporary
directory; use a directory on the disk you mean to measure: on tmpfs an fsync costs nothing)
and are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from actorkit import Caller, Chart, load_chart
from actorkit.hooks import _uuid5
from actorkit.journal import replay
from actorkit.runtime import ActorSystem
from actorkit.store import Entry, MemoryStore, SqliteStore

HERE = Path(__file__).resolve().parent
CHART = HERE.parent / "charts" / "todo.yaml"
GROWTH_TARGET = 0.10  # passivated second-half RSS growth, as a share of the unpassivated one
TEMPLATE = "template-0"
CALLER = Caller.client("bench")


def status(field: str) -> int:
    """A field of /proc/self/status in kB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def mb(kb: float) -> str:
    return f"{kb / 1024:,.1f} MB"


def actor_id(i: int) -> str:
    return f"a{i:07d}"


# -- 1. commit rate ------------------------------------------------------------------------------


async def commit_round(system: ActorSystem, n: int, senders: int = 1,
                       spread: bool = False) -> tuple[float, float]:
    """``senders`` callers at once (one: ``CALLER``), each sending n ADD/TOGGLE/REMOVE triples
    to actor "bench" (``spread``: to an actor of its own) and waiting for each answer before
    its next event; returns (wall, CPU) seconds."""
    async def one(caller: Caller) -> None:
        actor = f"bench-{caller.id}" if spread else "bench"
        for _ in range(n):
            result, _ = await system.send("todo", actor, caller,
                                          {"type": "ADD_TODO", "text": "buy milk"})
            todo_id = result.outputs[0]["todo"]["id"]
            await system.send("todo", actor, caller, {"type": "TOGGLE_TODO", "id": todo_id})
            await system.send("todo", actor, caller, {"type": "REMOVE_TODO", "id": todo_id})

    callers = [CALLER] if senders == 1 else [Caller.client(f"bench-{i}") for i in range(senders)]
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(caller) for caller in callers))
    return time.perf_counter() - wall, time.process_time() - cpu


def counting(call: Any, tally: list[int]) -> Any:
    """``call``, adding one to ``tally[0]`` at each call (what it returns is passed on)."""
    def counted(*args: Any, **kwargs: Any) -> Any:
        tally[0] += 1
        return call(*args, **kwargs)
    return counted


async def commit_rates(workdir: Path, rounds: int, events: int,
                       senders: int = 1, spread: bool = False) -> dict[str, Any]:
    """Events/s per store, interleaved rounds of ``events`` per sender; with ``senders`` > 1,
    that many at once (on one actor, or ``spread`` over one actor each), and the mean number
    of events per store transaction (``batch``)."""
    chart = load_chart(CHART)
    systems = {
        "MemoryStore": ActorSystem({"todo": chart}, store=MemoryStore()),
        "SQLite process": ActorSystem({"todo": chart},
                                      store=SqliteStore(workdir / "process.db")),
        "SQLite power": ActorSystem({"todo": chart},
                                    store=SqliteStore(workdir / "power.db", durability="power")),
    }
    n = max(1, events // 3)
    per_round = 3 * n * senders  # each send commits one journal entry
    transactions: dict[str, list[int]] = {}
    for name, system in systems.items():
        await system.start()
        await commit_round(system, 1, senders, spread)  # spawn, warm up
        store: Any = system.store
        tally = transactions[name] = [0]
        if hasattr(store, "_write"):  # SQLite: a transaction may hold several commits
            store._write = counting(store._write, tally)
        else:  # each commit is one
            store.commit = counting(store.commit, tally)
    names = list(systems)
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        order = names[r % 3:] + names[:r % 3]
        for name in order:
            w, c = await commit_round(systems[name], n, senders, spread)
            wall[name].append(per_round / w)
            cpu[name].append(per_round / c)
    for system in systems.values():
        await system.close()
    out: dict[str, Any] = {}
    for name in names:
        ratios = [a / b for a, b in zip(wall[name], wall["MemoryStore"], strict=True)]
        cpu_ratios = [a / b for a, b in zip(cpu[name], cpu["MemoryStore"], strict=True)]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        out[name] = {"wall": statistics.median(wall[name]), "cpu": statistics.median(cpu[name]),
                     "ratio": statistics.median(ratios), "q1": q1, "q3": q3,
                     "cpu_ratio": statistics.median(cpu_ratios),
                     "batch": rounds * per_round / max(transactions[name][0], 1)}
    return out


# -- 2a. making the stored actors ----------------------------------------------------------------


async def make_template(db: Path) -> None:
    """One actor made the ordinary way: spawned, 3 todos added, the first toggled."""
    system = ActorSystem({"todo": load_chart(CHART)}, store=SqliteStore(db))
    await system.start()
    first = None
    for text in ("buy milk", "walk the dog", "write the report"):
        result, _ = await system.send("todo", TEMPLATE, CALLER, {"type": "ADD_TODO",
                                                                 "text": text})
        first = first or result.outputs[0]["todo"]["id"]
    await system.send("todo", TEMPLATE, CALLER, {"type": "TOGGLE_TODO", "id": first})
    await system.close()


def populate(db: Path, n: int) -> dict[str, float]:
    """Copy the template actor's rows under ids a0000000.. a{n-1}, ids substituted."""
    t0 = time.perf_counter()
    asyncio.run(make_template(db))
    con = sqlite3.connect(db, isolation_level=None)
    actor = con.execute("SELECT type, id, version, seq, snapshot, wake FROM actors "
                        "WHERE id = ?", (TEMPLATE,)).fetchone()
    journal = con.execute("SELECT * FROM journal WHERE id = ? ORDER BY seq",
                          (TEMPLATE,)).fetchall()
    # the ids ctx.new_id() gave the template: the n-th id of step seq is uuid5(type/id/seq/n)
    snapshot = bytes(actor[4]).decode()
    todo_ids = {}
    for seq in range(1, actor[3] + 1):
        uid = _uuid5(f"todo/{TEMPLATE}/{seq}/1".encode())
        if uid in snapshot:
            todo_ids[uid] = seq
    assert len(todo_ids) == 3, "the template's todo ids are not where expected"
    pattern = re.compile("|".join(map(re.escape, [f'"{TEMPLATE}"', *todo_ids])))

    def substitute(text: str, ids: dict[str, str]) -> str:
        return pattern.sub(lambda m: ids[m.group(0)], text)

    rows = [(row, None if row[8] is None else bytes(row[8]).decode()) for row in journal]
    batch = 10_000
    con.execute("BEGIN")
    for start in range(0, n, batch):
        actors, entries = [], []
        for i in range(start, min(n, start + batch)):
            new_id = actor_id(i)
            ids = {f'"{TEMPLATE}"': f'"{new_id}"'}
            ids.update({uid: _uuid5(f"todo/{new_id}/{seq}/1".encode())
                        for uid, seq in todo_ids.items()})
            actors.append((actor[0], new_id, actor[2], actor[3],
                           substitute(snapshot, ids).encode(), actor[5]))
            for row, data in rows:
                blob = row[8] if data is None or not pattern.search(data) else (
                    substitute(data, ids).encode())
                entries.append((row[0], new_id, *row[2:8], blob, row[9]))
        con.executemany("INSERT INTO actors VALUES (?, ?, ?, ?, ?, ?)", actors)
        con.executemany("INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entries)
        if (start // batch) % 5 == 4:
            con.execute("COMMIT")
            con.execute("BEGIN")
    con.execute("COMMIT")
    con.execute("DELETE FROM journal WHERE id = ?", (TEMPLATE,))
    con.execute("DELETE FROM actors WHERE id = ?", (TEMPLATE,))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    seconds = time.perf_counter() - t0
    check_sample(db, n)
    return {"seconds": seconds, "bytes": db.stat().st_size}


def check_sample(db: Path, n: int) -> None:
    """Replaying the journal of sampled copies gives exactly their stored snapshot."""
    chart = load_chart(CHART)
    store = SqliteStore(db)

    async def check() -> None:
        for i in sorted({0, n - 1, *random.Random(1).sample(range(n), min(n, 50))}):
            stored = await store.load("todo", actor_id(i))
            assert stored is not None
            entries: list[Entry] = await store.journal("todo", actor_id(i), limit=1000)
            rebuilt = replay(chart, actor_id(i), entries)
            if rebuilt.snapshot_json() != stored.snapshot:
                raise SystemExit(f"copied actor {actor_id(i)} does not replay to its snapshot")
        await store.close()

    asyncio.run(check())


# -- 2b. the fresh processes ---------------------------------------------------------------------


def shuffled(n: int) -> list[str]:
    ids = [actor_id(i) for i in range(n)]
    random.Random(7).shuffle(ids)
    return ids


class GcPauses:
    """Time the cyclic garbage collector holds the (only) thread, by generation."""

    def __init__(self) -> None:
        self.total = [0.0, 0.0, 0.0]
        self.runs = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        self._t0 = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        g, took = info["generation"], time.perf_counter() - self._t0
        self.total[g] += took
        self.runs[g] += 1
        self.longest[g] = max(self.longest[g], took)

    def stop(self) -> dict[str, Any]:
        gc.callbacks.remove(self._callback)
        return {"gc_total": self.total, "gc_runs": self.runs, "gc_longest": self.longest}


async def open_system(db: Path, idle_after: float | None,
                      chart: Chart) -> tuple[ActorSystem, dict[str, float]]:
    t0 = time.perf_counter()
    system = ActorSystem({"todo": chart}, store=SqliteStore(db), idle_after=idle_after)
    t1 = time.perf_counter()
    await system.start()
    t2 = time.perf_counter()
    return system, {"open_ms": (t1 - t0) * 1e3, "start_ms": (t2 - t1) * 1e3}


async def child_touch(db: Path, n: int, idle_after: float | None) -> dict[str, Any]:
    """snapshot() once on each of n stored actors; VmRSS and active along the way."""
    ids = shuffled(n)
    chart = load_chart(CHART)  # the chart, its hooks and schemas: not counted as growth
    gc.collect()
    base = status("VmRSS")
    system, times = await open_system(db, idle_after, chart)
    after_start = status("VmRSS")
    points = []
    peak_active = 0
    pauses = GcPauses()
    t0 = time.perf_counter()
    c0 = time.process_time()
    for k, aid in enumerate(ids, 1):
        await system.snapshot("todo", aid, CALLER)
        await asyncio.sleep(0)  # as between requests: timers (the sweep) may run
        peak_active = max(peak_active, system.active)
        if k % max(1, n // 10) == 0 or k == n:
            points.append((k, status("VmRSS"), system.active))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    out: dict[str, Any] = {**times, "base": base, "after_start": after_start, "points": points,
                           "peak_active": peak_active, "hwm": status("VmHWM"),
                           "touch_us": wall / n * 1e6, "touch_cpu_us": cpu / n * 1e6,
                           **pauses.stop()}
    if idle_after is None:
        # one passivation sweep with every actor resident and none idle
        system.idle_after = 3600.0
        s0 = time.perf_counter()
        system._sweep()
        out["sweep_ms"] = (time.perf_counter() - s0) * 1e3
        if system._sweeper is not None:
            system._sweeper.cancel()
        system.idle_after = None
        out["tracked"] = len(gc.get_objects())
        s0 = time.perf_counter()
        gc.collect()
        out["collect_ms"] = (time.perf_counter() - s0) * 1e3
    else:
        await asyncio.sleep(2 * idle_after)
        out["later_active"] = system.active
        out["later_rss"] = status("VmRSS")
        gc.collect()
        out["later_rss_gc"] = status("VmRSS")
    await system.close()
    return out


async def child_restore(db: Path, n: int, sample: int, per_round: int) -> dict[str, Any]:
    """Interleaved rounds: first touches (restores) vs touches of resident actors vs spawns."""
    ids = shuffled(n)[:sample]
    system, times = await open_system(db, None, load_chart(CHART))

    async def timed(keys: list[str]) -> float:
        c0 = time.process_time()
        for aid in keys:
            await system.snapshot("todo", aid, CALLER)
        return (time.process_time() - c0) / len(keys) * 1e6

    restore, warm, spawn = [], [], []
    wall0 = time.perf_counter()
    for r in range(0, len(ids), per_round):
        keys = ids[r:r + per_round]
        restore.append(await timed(keys))
        warm.append(await timed(keys))
        spawn.append(await timed([f"new-{r + j}" for j in range(len(keys))]))
    wall = time.perf_counter() - wall0
    rw = [a / b for a, b in zip(restore, warm, strict=True)]
    rs = [a / b for a, b in zip(restore, spawn, strict=True)]
    await system.close()
    return {**times, "rounds": len(restore), "touched": len(ids),
            "restore_us": statistics.median(restore), "warm_us": statistics.median(warm),
            "spawn_us": statistics.median(spawn), "restore_vs_warm": statistics.median(rw),
            "restore_vs_spawn": statistics.median(rs), "wall_s": wall}


async def child_start(db: Path) -> dict[str, Any]:
    """start() when every stored actor has a wake-up pending."""
    chart = load_chart(CHART)
    gc.collect()
    base = status("VmRSS")
    system, times = await open_system(db, None, chart)
    out = {**times, "rss": status("VmRSS") - base, "armed": len(system._wakes)}
    await system.close()
    return out


def run_child(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {args[0]} failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def child_main(argv: list[str]) -> int:
    kind, db = argv[0], Path(argv[1])
    coro: Awaitable[dict[str, Any]]
    if kind == "touch":
        idle = None if argv[3] == "none" else float(argv[3])
        coro = child_touch(db, int(argv[2]), idle)
    elif kind == "start":
        coro = child_start(db)
    else:
        coro = child_restore(db, int(argv[2]), int(argv[3]), int(argv[4]))
    print(json.dumps(asyncio.run(coro)))
    return 0


# -- the report ----------------------------------------------------------------------------------


def growth(points: list[list[int]], base: int) -> tuple[int, int, int]:
    """RSS growth in kB: over all touches, first half, second half."""
    half = next(rss for k, rss, _ in points if k >= points[-1][0] // 2)
    end = points[-1][1]
    return end - base, half - base, end - half


def print_rates(rates: dict[str, Any]) -> None:
    print(f"   {'store':<16}{'events/s':>10}{'vs memory':>11}{'quartiles':>13}"
          f"{'CPU ev/s':>10}{'vs memory':>11}{'events/commit':>15}")
    for name, r in rates.items():
        print(f"   {name:<16}{r['wall']:>10,.0f}{r['ratio']:>10.2f}x"
              f"{r['q1']:>8.2f}-{r['q3']:.2f}{r['cpu']:>10,.0f}{r['cpu_ratio']:>10.2f}x"
              f"{r['batch']:>15.1f}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 actors, fewer rounds")
    parser.add_argument("--actors", type=int, help="stored actors (default 100,000)")
    parser.add_argument("--rounds", type=int, help="commit-rate rounds (default 25)")
    parser.add_argument("--events", type=int, help="events per round and store (default 300)")
    parser.add_argument("--sample", type=int, help="first touches timed (default 10,000)")
    parser.add_argument("--idle-after", type=float,
                        help="seconds, with passivation (default 1; --quick 0.25)")
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite files go")
    parser.add_argument("--senders", type=int, default=16,
                        help="senders at once in the second commit-rate table (default 16)")
    args = parser.parse_args()
    n = args.actors or (10_000 if args.quick else 100_000)
    rounds = args.rounds or (7 if args.quick else 25)
    events = args.events or (150 if args.quick else 300)
    sample = min(n // 2, args.sample or (5_000 if args.quick else 10_000))
    per_round = max(1, min(1_000, sample // 5))
    idle_after = args.idle_after or (0.25 if args.quick else 1.0)

    workdir = Path(tempfile.mkdtemp(prefix="actorkit-bench-", dir=args.dir))
    try:
        t_all = time.perf_counter()
        print(f"1. committed events/s, one todo actor through ActorSystem.send "
              f"({rounds} rounds x {3 * (events // 3)} events per store; SQLite in {workdir})")
        rates = asyncio.run(commit_rates(workdir, rounds, events))
        print_rates(rates)
        for name in ("SQLite process", "SQLite power"):
            r, m = rates[name], rates["MemoryStore"]
            print(f"   {name}: {1e6 / r['wall'] - 1e6 / m['wall']:,.0f} us more per event "
                  f"than MemoryStore")
        print(f"   the same with {args.senders} senders at once (group commit: the events that "
              f"reach the actor together share a transaction)")
        print_rates(asyncio.run(commit_rates(workdir / "concurrent", rounds, events,
                                             args.senders)))
        print(f"   {args.senders} senders at once, each on an actor of its own (the commits "
              f"of many actors share a SQLite transaction)")
        print_rates(asyncio.run(commit_rates(workdir / "spread", rounds, events,
                                             args.senders, spread=True)))

        db = workdir / "actors.db"
        made = populate(db, n)
        print(f"\n2. {n:,} stored todo actors (3 todos each): written in {made['seconds']:.1f} s,"
              f" {made['bytes'] / 2**20:,.0f} MB; a sample replays to its snapshots")
        plain = run_child(["touch", str(db), str(n), "none"])
        passive = run_child(["touch", str(db), str(n), str(idle_after)])
        restore = run_child(["restore", str(db), str(n), str(sample), str(per_round)])
        with sqlite3.connect(db) as con:  # every actor due to wake in an hour
            con.execute("UPDATE actors SET wake = ?", (time.time() + 3600,))
        started = run_child(["start", str(db)])

        print(f"   fresh process: open store {plain['open_ms']:.1f} ms, start() "
              f"{plain['start_ms']:.1f} ms / {passive['start_ms']:.1f} ms / "
              f"{restore['start_ms']:.1f} ms (three processes); with a wake-up pending for "
              f"each of the {started['armed']:,} actors, start() {started['start_ms']:,.0f} ms "
              f"and {mb(started['rss'])} RSS")
        print(f"   snapshot() per actor, CPU, median of {restore['rounds']} rounds of "
              f"{per_round:,} ({restore['touched']:,} restored):")
        print(f"     first touch (restore from SQLite)  {restore['restore_us']:7.0f} us")
        print(f"     actor already in memory            {restore['warm_us']:7.0f} us   "
              f"restore = {restore['restore_vs_warm']:.1f}x")
        print(f"     unknown id (spawn + SQLite commit) {restore['spawn_us']:7.0f} us   "
              f"restore = {restore['restore_vs_spawn']:.2f}x")
        print(f"     {restore['touched'] / restore['wall_s'] * 3:,.0f} snapshot() calls/s "
              f"wall over the three kinds")

        print(f"\n   touching all {n:,} once each (shuffled, snapshot(), one loop yield each):")
        print(f"   {'touched':>9}  {'RSS, no passivation':>22}  "
              f"{f'RSS, idle_after={idle_after:g} s':>24}")
        for (k, r1, a1), (_, r2, a2) in zip(plain["points"], passive["points"], strict=True):
            print(f"   {k:>9,}  {mb(r1):>11} {a1:>7,} act  {mb(r2):>11} {a2:>7,} act")
        g_plain, h1_plain, h2_plain = growth(plain["points"], plain["after_start"])
        g_pass, h1_pass, h2_pass = growth(passive["points"], passive["after_start"])
        print(f"   {'':>9}  {'RSS growth':<14}{'1st half':>10}{'2nd half':>10}{'peak RSS':>11}"
              f"{'peak active':>12}{'us/touch':>9}")
        for label, res, g, h1, h2 in (("none", plain, g_plain, h1_plain, h2_plain),
                                      ("idle_after", passive, g_pass, h1_pass, h2_pass)):
            print(f"   {label:>9}  {mb(g):<14}{mb(h1):>10}{mb(h2):>10}{mb(res['hwm']):>11}"
                  f"{res['peak_active']:>12,}{res['touch_us']:>9.0f}")
        print(f"   without passivation: {g_plain * 1024 / n:,.0f} B of RSS per resident actor; "
              f"one sweep over the {plain['points'][-1][2]:,} resident actors (none idle) "
              f"holds the loop {plain['sweep_ms']:.1f} ms")
        for label, res in (("none", plain), ("idle_after", passive)):
            print(f"   cyclic GC, {label}: {sum(res['gc_total']):.1f} s in all "
                  f"({sum(res['gc_total']) / n * 1e6:.0f} us per touch); longest pause "
                  f"{max(res['gc_longest']) * 1e3:,.0f} ms; full collections "
                  f"{res['gc_runs'][2]}")
        print(f"   gc.collect() with {plain['points'][-1][2]:,} actors resident "
              f"({plain['tracked']:,} tracked objects): {plain['collect_ms']:,.0f} ms")
        print(f"   with passivation, {2 * idle_after:g} s after the last touch: "
              f"{passive['later_active']:,} actors in memory, RSS {mb(passive['later_rss'])} "
              f"({mb(passive['later_rss_gc'])} after gc.collect())")

        share = h2_pass / h2_plain if h2_plain > 0 else float("inf")
        ok = share <= GROWTH_TARGET and passive["later_active"] == 0
        print(f"\n   second-half RSS growth with passivation = {share:.1%} of that without "
              f"(target <= {GROWTH_TARGET:.0%}); {passive['later_active']} left in memory "
              f"(target 0)")
        print(f"   whole run {time.perf_counter() - t_all:.0f} s")
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
