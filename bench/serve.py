"""Serving cost: actorkit's HTTP and WebSocket routes against bare FastAPI, in one run.

Two servers run side by side on 127.0.0.1, each ``uvicorn`` with the same options (one
worker, uvloop, websockets-sansio, no access log): actorkit serving ``charts/todo.yaml``
(``actorkit.server:create_app --factory``) with the HTTP protocol ``actorkit serve`` runs
(httptools held to the request-head and connection limits), and ``bench/bare_app.py``, the
same transport work with no actor behind it, on uvicorn's own httptools protocol. One Node
process (``bench/load.mjs``, the ``ws`` package pinned in ``bench/package.json``) drives both
with the same code; only paths differ.
Every variant is measured in rounds interleaved with its baseline (the order alternates each
round), warm-up rounds are discarded, and each verdict is the median of the per-round ratios.

1. POST events/s: keep-alive connections (``--conc``), one request in flight on each, cycling
   ADD_TODO / TOGGLE_TODO / REMOVE_TODO on one actor with one token, against ``POST /echo``
   (parse the JSON body, answer ``{"success": true}``). Target >= 0.8x.
2. WebSocket events/s: N clients (``--ws-clients``), each on an actor of its own, sending the
   same cycle and waiting for the frame each event causes, against a ``receive_text`` /
   ``send_text`` echo. Target >= 0.6x.
3. Fan-out: N clients (``--fanout``, distinct callers, no private data) on one actor; time from
   a POST (TOGGLE_TODO) until the last client has the frame, against ``POST /broadcast`` looping
   ``await ws.send_text(msg)`` over N subscribers with a message of the same shape and size.
   Target <= 1.3x.

Throughput targets are judged on server CPU per event (server CPU seconds, from
``/proc/<pid>/task/*/schedstat``, divided by the events done): on this shared 2-vCPU machine
the client and another tenant take CPU from the server, which moves events/s by +-30% and
pulls every ratio of wall-clock rates towards 1; CPU per event is what the server itself
costs. Wall-clock events/s and their ratio are printed too (``--verdict wall`` judges on
them). Fan-out is judged on the time to the last client (the server's CPU per delivered
frame is printed beside it).

    npm ci --prefix bench            # once: the ws client
    python bench/serve.py            # about 2.5 minutes
    python bench/serve.py --quick    # about 30 s: fewer and shorter rounds

Exit status 0 if every target holds, 1 if one does not, 2 if the run itself failed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import json
import os
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from actorkit.auth import create_access_token  # noqa: E402
from actorkit.server.protocol import PATH as OURS_HTTP  # noqa: E402

SECRET = "bench-serve-secret-" + "x" * 32
#: The uvicorn options both servers get: uvicorn[standard]'s defaults, spelled out. The
#: HTTP protocol is each server's own: what ``actorkit serve`` runs, or uvicorn's httptools.
UVICORN = ["--host", "127.0.0.1", "--workers", "1", "--loop", "uvloop",
           "--ws", "websockets-sansio", "--no-access-log", "--log-level", "warning"]
TARGETS = {"post": 0.8, "ws": 0.6, "fanout": 1.3}
CLK_TCK = os.sysconf("SC_CLK_TCK")
Runner = Callable[[], dict[str, Any]]


class RunError(Exception):
    """The benchmark could not run (as opposed to: it ran and missed a target)."""


# -- processes --------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """In the child: get SIGTERM if this harness dies without cleaning up (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_cpu(pid: int) -> float:
    """CPU seconds used so far by every thread of ``pid`` (nanosecond resolution)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError), \
                open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores; idle and iowait excluded)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


class Server:
    """One uvicorn process on a free port of 127.0.0.1."""

    def __init__(self, name: str, app: list[str], env: dict[str, str],
                 http: str = "httptools") -> None:
        self.name = name
        self.port = free_port()
        self.log = Path(tempfile.mkstemp(prefix=f"bench-serve-{name}-", suffix=".log")[1])
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", *app, "--port", str(self.port), *UVICORN,
                 "--http", http],
                cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self.pid = self.process.pid

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RunError(f"{self.name} server exited:\n{self.log.read_text()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/openapi.json")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RunError(f"{self.name} server did not start in {timeout} s")
            time.sleep(0.1)

    def post(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request outside any measurement (setup)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("POST", path, json.dumps(body),
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        res = conn.getresponse()
        data = json.loads(res.read())
        conn.close()
        if res.status != 200:
            raise RunError(f"setup POST {path} -> {res.status} {data}")
        return data  # type: ignore[no-any-return]

    def cpu(self) -> float:
        if self.process.poll() is not None:
            raise RunError(f"{self.name} server died:\n{self.log.read_text()[-3000:]}")
        return process_cpu(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)


class Agent:
    """bench/load.mjs, driven by one JSON line per command."""

    def __init__(self, max_seconds: float) -> None:
        script = HERE / "load.mjs"
        if not (HERE / "node_modules" / "ws").is_dir():
            raise RunError("the load generator needs its ws client: npm ci --prefix bench")
        self.errlog = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            ["node", str(script), "--max-seconds", str(int(max_seconds))], cwd=HERE,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errlog,
            preexec_fn=_die_with_parent)
        self.pid = self.process.pid
        self._buf = b""
        self._sel = selectors.DefaultSelector()
        assert self.process.stdout is not None
        self._sel.register(self.process.stdout, selectors.EVENT_READ)

    def call(self, cmd: str, timeout: float, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sel.select(left):
                raise RunError(f"load generator: no answer to {cmd} within {timeout:.0f} s")
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                self.errlog.seek(0)
                raise RunError(f"load generator exited: {self.errlog.read().decode()[-3000:]}")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        if not reply.pop("ok"):
            raise RunError(f"load generator, {cmd}: {reply['error']}")
        return reply

    def cpu(self) -> float:
        return process_cpu(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(Exception):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- measuring ----------------------------------------------------------------------------------

@dataclass
class Round:
    variant: str
    work: int              # requests, messages or delivered frames
    wall: float            # seconds
    server_cpu: float      # seconds
    client_cpu: float      # seconds
    other_cores: float     # busy cores beyond server and client (other tenant, kernel)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.work / self.wall

    @property
    def cpu_us(self) -> float:
        return self.server_cpu / self.work * 1e6


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.start = time.monotonic()
        self.ours: Server | None = None
        self.bare: Server | None = None
        self.agent: Agent | None = None
        self.results: dict[str, dict[str, list[Round]]] = {}

    def check_budget(self) -> None:
        if time.monotonic() - self.start > self.args.budget:
            raise RunError(f"the run took longer than --budget {self.args.budget:.0f} s")

    def measure(self, server: Server, variant: str, run: Runner,
                work_key: str) -> Round:
        assert self.agent is not None
        self.check_budget()
        s0, c0, m0, t0 = server.cpu(), self.agent.cpu(), machine_busy(), time.monotonic()
        res = run()
        s1, c1, m1, t1 = server.cpu(), self.agent.cpu(), machine_busy(), time.monotonic()
        if res.get("errors"):
            raise RunError(f"{variant}: {res['errors']} bad answers, first: {res['first_error']}")
        if res.get("error"):
            raise RunError(f"{variant}: {res['error']}")
        wall = res.get("elapsed") or (t1 - t0)
        other = ((m1 - m0) - (s1 - s0) - (c1 - c0)) / (t1 - t0)
        return Round(variant, int(res[work_key]), wall, s1 - s0, c1 - c0, other, res)

    def interleaved(self, section: str, variants: list[tuple[str, Server, Runner]],
                    work_key: str, rounds: int, warmup: int,
                    pause: float = 0.0) -> dict[str, list[Round]]:
        kept: dict[str, list[Round]] = {name: [] for name, _, _ in variants}
        for r in range(warmup + rounds):
            order = variants if r % 2 == 0 else variants[::-1]
            for name, server, run in order:
                done = self.measure(server, name, run, work_key)
                if r >= warmup:
                    kept[name].append(done)
                if pause:
                    time.sleep(pause)
            print(f"  {section} round {r + 1}/{warmup + rounds}"
                  f"{' (warm-up)' if r < warmup else ''}", file=sys.stderr, flush=True)
        self.results[section] = kept
        return kept

    # -- sections ---------------------------------------------------------------------------

    def post(self) -> None:
        a, ours, bare, agent = self.args, self.ours, self.bare, self.agent
        assert ours and bare and agent
        token = create_access_token(SECRET, "bench-post", "todo", "bench", "client")
        for name, server in (("ours", ours), ("bare", bare)):
            agent.call("http_open", 30, pool=f"post-{name}", port=server.port, conc=a.conc)

        def run(pool: str, path: str) -> Runner:
            return lambda: agent.call("http_run", a.seconds + 30, pool=pool, path=path,
                                      token=token, seconds=a.seconds, max=a.max_requests)

        self.interleaved(f"post c={a.conc}", [
            ("ours", ours, run("post-ours", "/api/todo/bench-post")),
            ("bare", bare, run("post-bare", "/echo"))], "requests", a.rounds, a.warmup)
        for name in ("ours", "bare"):
            agent.call("close", 30, pool=f"post-{name}")

    def ws(self, n: int) -> None:
        a, ours, bare, agent = self.args, self.ours, self.bare, self.agent
        assert ours and bare and agent
        paths = ws_paths(f"bench-ws{n}-{i}" for i in range(n))
        agent.call("ws_open", 120, group=f"ws{n}-ours", port=ours.port, paths=paths, hello=True,
                   deflate=a.deflate, timeoutMs=60000)
        agent.call("ws_open", 120, group=f"ws{n}-bare", port=bare.port, paths=["/ws"] * n,
                   hello=False, deflate=a.deflate, timeoutMs=60000)

        def run(group: str, expect: str) -> Runner:
            return lambda: agent.call("ws_run", a.seconds + 30, group=group, seconds=a.seconds,
                                      max=a.max_requests, expect=expect)

        self.interleaved(f"ws n={n}", [
            ("ours", ours, run(f"ws{n}-ours", "frame")),
            ("bare", bare, run(f"ws{n}-bare", "echo"))], "messages", a.rounds, a.warmup)
        for name in ("ours", "bare"):
            agent.call("close", 60, group=f"ws{n}-{name}")

    def fanout(self, n: int) -> None:
        a, ours, bare, agent = self.args, self.ours, self.bare, self.agent
        assert ours and bare and agent
        actor_id = f"bench-fanout{n}"
        poster, todo_id, paths = fanout_actor(ours, actor_id, n)
        opened = {}
        for name, server, group_paths, hello in (("ours", ours, paths, True),
                                                  ("bare", bare, ["/sub"] * n, False)):
            t = time.monotonic()
            agent.call("ws_open", 180, group=f"fan{n}-{name}", port=server.port,
                       paths=group_paths, hello=hello, deflate=a.deflate, timeoutMs=120000)
            opened[name] = time.monotonic() - t
            agent.call("http_open", 30, pool=f"fan{n}-{name}", port=server.port, conc=1)
        flag = [False]

        def run(name: str) -> Runner:
            def go() -> dict[str, Any]:
                flag[0] = not flag[0]
                body: dict[str, Any] = {"type": "TOGGLE_TODO", "id": todo_id}
                path = f"/api/todo/{actor_id}"
                if name == "bare":
                    body["flag"] = flag[0]
                    path = "/broadcast"
                res = agent.call("fanout", 60, group=f"fan{n}-{name}", pool=f"fan{n}-{name}",
                                 path=path, token=poster, body=json.dumps(body),
                                 timeoutMs=30000)
                if "error" not in res:
                    bad = (res["status"] != 200 or not res["frame_ok"] or res["extra"]
                           or res["received"] != n)
                    if name == "bare" and f'"subscribers":{n}' not in res["response"]:
                        bad = True
                    if bad:
                        res["error"] = f"bad round: {res}"
                return res
            return go

        kept = self.interleaved(f"fanout n={n}", [("ours", ours, run("ours")),
                                                  ("bare", bare, run("bare"))],
                                "received", a.fanout_rounds, a.fanout_warmup, pause=0.05)
        for name in ("ours", "bare"):
            kept[name][0].extra["connect_all_s"] = opened[name]
            agent.call("close", 60, group=f"fan{n}-{name}")
            agent.call("close", 30, pool=f"fan{n}-{name}")

    # -- running ------------------------------------------------------------------------------

    def run(self) -> None:
        a = self.args
        env = {"ACTOR_KIT_SECRET": SECRET, "ACTORKIT_PROJECT": str(ROOT)}
        self.ours = Server("ours", ["actorkit.server:create_app", "--factory"], env, OURS_HTTP)
        self.bare = Server("bare", ["bare_app:app", "--app-dir", str(HERE)], {})
        self.agent = Agent(a.budget + 60)
        self.ours.wait_ready()
        self.bare.wait_ready()
        print(f"actorkit at {describe_checkout()}", file=sys.stderr)
        print(f"servers: ours pid {self.ours.pid} port {self.ours.port}, bare pid "
              f"{self.bare.pid} port {self.bare.port}; load generator pid {self.agent.pid}",
              file=sys.stderr)
        if "post" in a.sections:
            self.post()
        if "ws" in a.sections:
            for n in a.ws_clients:
                self.ws(n)
        if "fanout" in a.sections:
            for n in a.fanout:
                self.fanout(n)

    def stop(self) -> None:
        for proc in (self.agent, self.ours, self.bare):
            if proc is not None:
                with contextlib.suppress(Exception):
                    proc.stop()


def fanout_actor(ours: Server, actor_id: str, n: int) -> tuple[str, str, list[str]]:
    """A todo actor with one todo for fan-out rounds: the poster's token, the todo's id, and
    the WebSocket paths (with tokens) of ``n`` subscribers."""
    poster = create_access_token(SECRET, actor_id, "todo", "poster", "client")
    added = ours.post(f"/api/todo/{actor_id}", poster, {"type": "ADD_TODO", "text": "milk"})
    paths = [f"/api/todo/{actor_id}?accessToken="
             + create_access_token(SECRET, actor_id, "todo", f"f{i}", "client")
             for i in range(n)]
    return poster, added["outputs"][0]["todo"]["id"], paths


def ws_paths(actor_ids: Iterable[str]) -> list[str]:
    """The WebSocket paths (with tokens) of one client on each todo actor, the i-th as caller
    ``ws{i}``."""
    return [f"/api/todo/{actor_id}?accessToken="
            + create_access_token(SECRET, actor_id, "todo", f"ws{i}", "client")
            for i, actor_id in enumerate(actor_ids)]


def describe_checkout() -> str:
    """The commit measured, and whether the package differs from it."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                "actorkit", "charts", "hooks", "schemas"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit (no git)"
    return f"commit {head}{' with local changes' if dirty else ''}"


# -- reporting ----------------------------------------------------------------------------------

def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    if len(values) < 4:
        return f"{min(values):.2f}-{max(values):.2f}"
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"{q1:.2f}-{q3:.2f}"


def report(bench: Bench) -> bool:
    a = bench.args
    ok = True
    rows: list[tuple[str, str, str, str, str, str]] = []

    def add(label: str, ours: str, bare: str, ratio: str, target: str, verdict: str) -> None:
        rows.append((label, ours, bare, ratio, target, verdict))

    def judge(value: float, target: float, higher: bool) -> str:
        nonlocal ok
        good = value >= target if higher else value <= target
        ok = ok and good
        return "PASS" if good else "FAIL"

    for section, kept in bench.results.items():
        ours, bare = kept["ours"], kept["bare"]
        pairs = list(zip(ours, bare, strict=True))
        kind = section.split()[0]
        target = TARGETS[kind]
        if kind in ("post", "ws"):
            unit = "req" if kind == "post" else "event"
            rate_r = [o.rate / b.rate for o, b in pairs]
            cpu_r = [b.cpu_us / o.cpu_us for o, b in pairs]
            on_cpu = a.verdict == "cpu"
            add(f"{section}: {unit}s/s (wall)", f"{med([o.rate for o in ours]):,.0f}",
                f"{med([b.rate for b in bare]):,.0f}",
                f"{med(rate_r):.2f}x ({spread(rate_r)})",
                "" if on_cpu else f">= {target}x",
                "" if on_cpu else judge(med(rate_r), target, True))
            add(f"{section}: server CPU us/{unit}", f"{med([o.cpu_us for o in ours]):,.0f}",
                f"{med([b.cpu_us for b in bare]):,.0f}",
                f"{med(cpu_r):.2f}x ({spread(cpu_r)})",
                f">= {target}x" if on_cpu else "",
                judge(med(cpu_r), target, True) if on_cpu else "")
            add(f"{section}: latency p50 / p99 ms",
                f"{med([o.extra['p50_ms'] for o in ours]):.2f} / "
                f"{med([o.extra['p99_ms'] for o in ours]):.2f}",
                f"{med([b.extra['p50_ms'] for b in bare]):.2f} / "
                f"{med([b.extra['p99_ms'] for b in bare]):.2f}", "", "", "")
        else:
            ms = [(o.extra["ms_last"], b.extra["ms_last"]) for o, b in pairs]
            lat_r = [o / b for o, b in ms]
            n = ours[0].work
            add(f"{section}: trigger -> last client, ms", f"{med([o for o, _ in ms]):.1f}",
                f"{med([b for _, b in ms]):.1f}", f"{med(lat_r):.2f}x ({spread(lat_r)})",
                f"<= {target}x", judge(med(lat_r), target, False))
            add(f"{section}: POST answered after, ms",
                f"{med([o.extra['ms_post'] for o in ours]):.1f}",
                f"{med([b.extra['ms_post'] for b in bare]):.1f}", "", "", "")
            cpu_r = [o.cpu_us / b.cpu_us for o, b in pairs]
            add(f"{section}: server CPU us per delivered frame",
                f"{med([o.cpu_us for o in ours]):.1f}", f"{med([b.cpu_us for b in bare]):.1f}",
                f"{med(cpu_r):.2f}x ({spread(cpu_r)})", "", "")
            add(f"{section}: frame bytes / connect all {n}, s",
                f"{ours[0].extra['frame_bytes']} / {ours[0].extra['connect_all_s']:.2f}",
                f"{bare[0].extra['frame_bytes']} / {bare[0].extra['connect_all_s']:.2f}",
                "", "", "")
        everything = ours + bare
        add(f"{section}: cores server / client / other",
            f"{med([r.server_cpu / r.wall for r in ours]):.2f} / "
            f"{med([r.client_cpu / r.wall for r in ours]):.2f} / "
            f"{max(0.0, med([r.other_cores for r in ours])):.2f}",
            f"{med([r.server_cpu / r.wall for r in bare]):.2f} / "
            f"{med([r.client_cpu / r.wall for r in bare]):.2f} / "
            f"{max(0.0, med([r.other_cores for r in bare])):.2f}",
            f"{len(everything) // 2} rounds each",
            "", "")

    header = ("measure", "ours", "bare", "ratio (median, IQR)", "target", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(6)]
    def line(row: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    print()
    print("ratios: rates ours/bare; CPU per event bare/ours (so higher is better for both); "
          "fan-out times ours/bare (lower is better)")
    print(f"verdict on {'server CPU per event' if a.verdict == 'cpu' else 'wall-clock rates'} "
          f"for POST and WebSocket; actorkit at {describe_checkout()}; "
          f"{time.monotonic() - bench.start:.0f} s in all")
    print("PASS" if ok else "FAIL")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 rounds of 0.75 s, 5 fan-out rounds: about a minute")
    parser.add_argument("--rounds", type=int, help="measured rounds per variant (default 9)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds (default 1)")
    parser.add_argument("--seconds", type=float, help="length of a throughput round (2)")
    parser.add_argument("--conc", type=int, default=16, help="HTTP connections (16)")
    parser.add_argument("--ws-clients", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--fanout", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--fanout-rounds", type=int, help="measured fan-out rounds (default 20)")
    parser.add_argument("--fanout-warmup", type=int, default=2)
    parser.add_argument("--max-requests", type=int, default=200_000,
                        help="cap on requests/messages per round")
    parser.add_argument("--sections", nargs="+", default=["post", "ws", "fanout"],
                        choices=["post", "ws", "fanout"])
    parser.add_argument("--deflate", action="store_true",
                        help="let clients negotiate permessage-deflate (browsers do)")
    parser.add_argument("--verdict", choices=["cpu", "wall"], default="cpu")
    parser.add_argument("--budget", type=float, default=300,
                        help="give up (exit 2) after this many seconds")
    parser.add_argument("--json", type=Path, help="write every round here")
    args = parser.parse_args()
    args.rounds = args.rounds or (3 if args.quick else 9)
    args.seconds = args.seconds or (0.75 if args.quick else 2.0)
    args.fanout_rounds = args.fanout_rounds or (5 if args.quick else 20)

    def on_signal(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    bench = Bench(args)
    try:
        bench.run()
    except (RunError, KeyboardInterrupt) as e:
        print(f"benchmark failed: {e or 'interrupted'}", file=sys.stderr)
        for server in (bench.ours, bench.bare):
            if server is not None and server.process.poll() is not None:
                print(f"--- {server.name} server exited ({server.process.returncode}); its log:\n"
                      f"{server.log.read_text(errors='replace')[-5000:]}", file=sys.stderr)
        return 2
    finally:
        bench.stop()
    if args.json:
        args.json.write_text(json.dumps(
            {section: {name: [r.__dict__ for r in rounds] for name, rounds in kept.items()}
             for section, kept in bench.results.items()}, indent=1, default=str))
    return 0 if report(bench) else 1


if __name__ == "__main__":
    raise SystemExit(main())
