"""Where actorkit's server spends its CPU under bench/serve.py's workloads (ours only).

Starts the actorkit server as serve.py does, runs one workload for ``--seconds`` with py-spy
sampling the server, and prints the server CPU per event split by what the samples were
doing (the share of samples in each part times the CPU per event measured in the same run),
then the heaviest frames. py-spy is not a dependency of the project: install it anywhere,
e.g. ``python3 -m venv .spy && .spy/bin/pip install py-spy``.

    python bench/serve_profile.py --pyspy .spy/bin/py-spy post
    python bench/serve_profile.py --pyspy .spy/bin/py-spy ws --clients 20
    python bench/serve_profile.py --pyspy .spy/bin/py-spy fanout --clients 1000

py-spy stops the server briefly for every sample (``--rate`` a second), so the figures run
somewhat above serve.py's; the split is what matters. Time in C (orjson, hashlib, socket
writes) is counted in the Python function that called it. The raw samples (collapsed stacks,
which speedscope and flamegraph.pl read) are kept in ``--out``.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import serve  # also puts the checkout first on sys.path
from serve import SECRET, Agent, Server

from actorkit.auth import create_access_token

#: Each sample goes to the first part one of whose patterns is in one of its frames
#: (``function (file)``), so the more specific parts come first.
PARTS: list[tuple[str, list[str]]] = [
    ("token check (JWT, token cache)", ["TokenVerifier", "parse_access_token", "(jwt/"]),
    ("event schema check", ["validate_event"]),
    ("statechart step (sismic, engine, hooks)", ["Actor._execute"]),
    ("context schema check after the step", ["check_context (actorkit/context.py)"]),
    ("commit: canonical JSON of the state", ["Commit._commit"]),
    ("rest of Actor.send / _step (Ctx, result)", ["Actor.send", "Actor._step"]),
    ("frames: diff and frame JSON", ["Frames.frame"]),
    ("views: caller views, checksums, view cache", ["Cell.view"]),
    ("per-connection hand-off (_update, deliver, queue)", ["Cell._update", "deliver"]),
    ("rest of the runtime (lock, committed, wake)", ["ActorSystem.", "Cell."]),
    ("WebSocket writer task: send a frame (Starlette/uvicorn/websockets, write)",
     [".write (actorkit/server/router.py)", "write (actorkit/server/router.py)"]),
    ("HTTP response write (uvicorn send, transport.write)", ["RequestResponseCycle.send"]),
    ("actorkit HTTP endpoint, rest (parse query, body, JSON out)", ["_HTTP"]),
    ("WebSocket receive loop and _handle, rest", ["_handle (actorkit", ".stream (actorkit",
                                                  "stream (actorkit"]),
    ("FastAPI / Starlette layers", ["(fastapi/", "(starlette/"]),
    ("uvicorn protocol (HTTP parse, WS frames) and the event loop", [""]),
]


def short(frame: str) -> str:
    m = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not m:
        return frame
    name, file = m.groups()
    file = re.sub(r".*site-packages/", "", file)
    file = re.sub(r".*?/actorkit/", "actorkit/", file)
    file = re.sub(r".*/lib/python3\.\d+/", "", file)
    return f"{name} ({file})"


def analyse(raw: Path, per_event_us: float, unit: str) -> None:
    stacks = []
    for line in raw.read_text().splitlines():
        if line.strip():
            stack, _, count = line.rpartition(" ")
            stacks.append(([short(f) for f in stack.split(";")], int(count)))
    total = sum(n for _, n in stacks)
    if not total:
        print("no samples")
        return
    parts: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for frames, n in stacks:
        for label, patterns in PARTS:
            if any(p in f for p in patterns for f in frames):
                parts[label] += n
                break
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    print(f"{total} samples; server CPU {per_event_us:.0f} us/{unit} while profiled\n")
    print(f"{'part':<75} {'share':>6} {'us/' + unit:>9}")
    for label, _ in PARTS:
        if parts[label]:
            share = parts[label] / total
            print(f"{label:<75} {share:6.1%} {share * per_event_us:9.1f}")
    print(f"\nheaviest frames, inclusive (actorkit and hooks only), us/{unit}:")
    for f, n in inclusive.most_common():
        if "actorkit/" in f or "todo.py" in f:
            if n / total < 0.01:
                break
            print(f"  {n / total:6.1%} {n / total * per_event_us:8.1f}  {f}")
    print(f"\nheaviest frames, own time (time in C counted in its Python caller), us/{unit}:")
    for f, n in own.most_common(25):
        print(f"  {n / total:6.1%} {n / total * per_event_us:8.1f}  {f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["post", "ws", "fanout"])
    parser.add_argument("--pyspy", required=True, help="the py-spy executable")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, help="HTTP connections (16), WebSocket "
                        "clients (20) or fan-out subscribers (1000)")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples a second")
    parser.add_argument("--native", action="store_true",
                        help="also sample C frames (py-spy --native): shows orjson, the "
                             "garbage collector, hashing and socket writes on their own")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    n = args.clients or {"post": 16, "ws": 20, "fanout": 1000}[args.workload]

    ours = Server("ours", ["actorkit.server:create_app", "--factory"],
                  {"ACTOR_KIT_SECRET": SECRET, "ACTORKIT_PROJECT": str(serve.ROOT)},
                  serve.OURS_HTTP)
    agent = Agent(args.seconds * 3 + 300)
    spy = None
    try:
        ours.wait_ready()
        if args.workload == "post":
            token = create_access_token(SECRET, "bench-post", "todo", "bench", "client")
            agent.call("http_open", 30, pool="p", port=ours.port, conc=n)

            def load(seconds: float) -> int:
                res = agent.call("http_run", seconds + 30, pool="p",
                                 path="/api/todo/bench-post", token=token, seconds=seconds,
                                 max=10**7)
                assert not res["errors"], res
                return int(res["requests"])
            unit = "request"
        elif args.workload == "ws":
            paths = serve.ws_paths(f"bench-ws-{i}" for i in range(n))
            agent.call("ws_open", 120, group="w", port=ours.port, paths=paths, hello=True,
                       deflate=False, timeoutMs=60000)

            def load(seconds: float) -> int:
                res = agent.call("ws_run", seconds + 30, group="w", seconds=seconds,
                                 max=10**7, expect="frame")
                assert not res["errors"], res
                return int(res["messages"])
            unit = "event"
        else:
            actor = "bench-fanout"
            poster, todo_id, paths = serve.fanout_actor(ours, actor, n)
            agent.call("ws_open", 180, group="f", port=ours.port, paths=paths, hello=True,
                       deflate=False, timeoutMs=120000)
            agent.call("http_open", 30, pool="f", port=ours.port, conc=1)
            body = json.dumps({"type": "TOGGLE_TODO", "id": todo_id})

            def load(seconds: float) -> int:
                frames, end = 0, time.monotonic() + seconds
                while time.monotonic() < end:
                    res = agent.call("fanout", 60, group="f", pool="f",
                                     path=f"/api/todo/{actor}", token=poster, body=body,
                                     timeoutMs=30000)
                    assert "error" not in res and res["received"] == n, res
                    frames += n
                    time.sleep(0.05)
                return frames
            unit = "frame"

        load(1.0)  # warm-up
        raw = args.out / f"actorkit-serve-{args.workload}-{n}{'-native' * args.native}.txt"
        spy = subprocess.Popen([args.pyspy, "record", "--pid", str(ours.pid), "--rate",
                                str(args.rate), "--format", "raw", "-o", str(raw),
                                *(["--native"] if args.native else [])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
        cpu0 = ours.cpu()
        events = load(args.seconds)
        cpu = ours.cpu() - cpu0
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=30)
        spy = None
        print(f"{args.workload}, {n} {'connections' if args.workload == 'post' else 'clients'}"
              f": {events} {unit}s in {args.seconds:.0f} s; samples in {raw}")
        analyse(raw, cpu / events * 1e6, unit)
        return 0
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
        agent.stop()
        ours.stop()


if __name__ == "__main__":
    sys.exit(main())
