"""Three real ``actorkit serve`` processes on 127.0.0.1 over one PostgreSQL database: clients
on different servers see one actor, and a server killed, a server paused and the database
restarted lose nothing that was acknowledged."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import postgres
import pytest
from node import JS, npm_packages
from servers import SECRET, Server, free_port, start_server
from support import ROOT
from test_js_client import bundle  # noqa: F401  (a fixture: the npm client, built once)

from actorkit.client import ActorClient, Live


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The shipped todo chart, and the timers chart of the tests."""
    folder = tmp_path / "project"
    (folder / "charts" / "hooks").mkdir(parents=True)
    (folder / "charts" / "schemas").mkdir()
    shutil.copy(ROOT / "charts" / "todo.yaml", folder / "charts")
    for part in ("hooks", "schemas"):
        (folder / part).mkdir()
        for name in ("todo.py", "todo.yaml"):
            if (ROOT / part / name).exists():
                shutil.copy(ROOT / part / name, folder / part)
    shutil.copy(ROOT / "tests" / "charts" / "timers.yaml", folder / "charts")
    shutil.copy(ROOT / "tests" / "charts" / "hooks" / "timers.py", folder / "charts" / "hooks")
    shutil.copy(ROOT / "tests" / "charts" / "schemas" / "timers.yaml",
                folder / "charts" / "schemas")
    return folder


class Cluster:
    """Servers of ``project`` on the database at ``url``."""

    def __init__(self, project: Path, url: str, tmp: Path) -> None:
        self.project, self.url, self.tmp = project, url, tmp
        self.nodes: list[Server] = []

    def start(self, *cli: str) -> Server:
        node = start_server(self.project, self.tmp / f"unused-{len(self.nodes)}.db",
                            extra_env={"ACTORKIT_STORE": self.url}, cli=list(cli))
        self.nodes.append(node)
        return node

    def logs(self) -> str:
        return "\n".join(f"--- node {i} (port {n.port}) ---\n{n.read_log()}"
                         for i, n in enumerate(self.nodes))


@pytest.fixture
def cluster(project: Path, postgres_url: str, tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(project, postgres_url, tmp_path)
    try:
        for _ in range(3):
            made.start()
        yield made
    except BaseException:
        print(made.logs())
        raise
    finally:
        for node in made.nodes:
            if node.running:
                os.kill(node.process.pid, signal.SIGCONT)
            node.stop()


def token(node: Server, actor: str, caller: str, actor_type: str = "todo") -> str:
    return node.token(actor_type, actor, caller)


async def post(http: httpx.AsyncClient, node: Server, actor: str, event: dict[str, Any],
               caller: str = "client:alice", actor_type: str = "todo") -> httpx.Response:
    bearer = token(node, actor, caller, actor_type)
    return await http.post(f"{node.url}/api/{actor_type}/{actor}", json=event,
                           headers={"Authorization": f"Bearer {bearer}"})


async def get(http: httpx.AsyncClient, node: Server, actor: str,
              caller: str = "client:alice", actor_type: str = "todo") -> dict[str, Any]:
    bearer = token(node, actor, caller, actor_type)
    answer = await http.get(f"{node.url}/api/{actor_type}/{actor}",
                            headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def journal(http: httpx.AsyncClient, node: Server, actor: str,
                  actor_type: str = "todo") -> list[dict[str, Any]]:
    answer = await http.get(
        f"{node.url}/api/{actor_type}/{actor}/events", params={"after": -1, "limit": 1000},
        headers={"Authorization": f"Bearer {token(node, actor, 'service:ops', actor_type)}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]  # type: ignore[no-any-return]


def replay(cluster: Cluster, actor: str, actor_type: str = "todo") -> None:
    """``actorkit replay`` of the actor, from the database: the journal replayed serially
    gives the stored state."""
    done = subprocess.run([sys.executable, "-m", "actorkit", "replay", "--project",
                           str(cluster.project), "--store", cluster.url, actor_type, actor],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": the same" in done.stdout


async def eventually(condition: Callable[[], Awaitable[bool]], timeout: float,
                     what: str) -> float:
    """Wait for ``condition``; the seconds it took."""
    start = time.monotonic()
    while not await condition():
        assert time.monotonic() - start < timeout, f"{what}: not within {timeout} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def texts(view: dict[str, Any]) -> list[str]:
    return [t["text"] for t in view["public"]["todos"]]


class Proxy:
    """A load balancer of the simplest kind on 127.0.0.1: each new connection goes to the
    first of ``nodes`` that accepts it, so clients of a killed node reconnect to another."""

    def __init__(self, nodes: list[Server]) -> None:
        self.nodes = nodes
        self.port = free_port()
        self.server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> Proxy:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for node in self.nodes:
            if not node.running:
                continue
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", node.port)
                break
            except OSError:
                continue
        else:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def test_clients_on_three_servers_see_one_actor_as_a_single_server_would(cluster):
    nodes = cluster.nodes

    async def go() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            clients = [ActorClient(n.url, "todo", "hot", token(n, "hot", f"client:c{i}"))
                       for i, n in enumerate(nodes)]
            lives: list[Live] = [c.connect() for c in clients]
            for live in lives:
                await live.__aenter__()
            try:
                gate = asyncio.Semaphore(12)

                async def send(k: int) -> httpx.Response:
                    async with gate:  # POSTs to the three servers, a dozen at a time
                        return await post(http, nodes[k % 3], "hot",
                                          {"type": "ADD_TODO", "text": f"t{k}"})

                answers = await asyncio.gather(*(send(k) for k in range(60)))
                assert [a.status_code for a in answers] == [200] * 60
                assert sorted(a.json()["seq"] for a in answers) == list(range(1, 61))
                views = [await get(http, n, "hot", "client:c0") for n in nodes]
                assert len({json.dumps(v, sort_keys=True) for v in views}) == 1
                assert sorted(texts(views[0]["snapshot"])) == sorted(f"t{k}" for k in range(60))
                entries = await journal(http, nodes[2], "hot")
                assert [e["seq"] for e in entries] == list(range(61))
                for i, live in enumerate(lives):  # each client ends where its server's GET is
                    mine = await get(http, nodes[i], "hot", f"client:c{i}")
                    await live.wait_for(lambda v, mine=mine: v == mine["snapshot"], timeout=10)
                    assert live.errors == []
            finally:
                for live in lives:
                    await live.close()
                for client in clients:
                    await client.aclose()
        replay(cluster, "hot")

    asyncio.run(go())


@pytest.mark.usefixtures("bundle")
def test_actor_kits_own_client_through_three_servers(cluster):
    done = subprocess.run(
        ["node", "flow.mjs"], cwd=JS, capture_output=True, text=True, timeout=120,
        env={"PATH": os.environ["PATH"], "AK_SECRET": SECRET, "AK_ACTOR": "js-cluster-1",
             "AK_HOSTS": ",".join(f"127.0.0.1:{n.port}" for n in cluster.nodes)})
    assert done.stdout, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["ok"], out.get("failure")
    assert out["alice"] == out["serverAlice"]  # alice on node 0, bob on node 1, sync on 2
    assert out["bob"] == out["serverBob"]
    assert out["alice"]["public"]["todos"] == [
        {"completed": False, "id": "a", "text": "from the service"}]
    assert out["bob"]["private"] == {"filter": "completed"}
    assert out["errors"] == []


def test_a_partysocket_client_across_three_servers(cluster):
    """A PartySocket client on server 0 sees what another caller posts through server 2,
    and comes back through server 1 from where it was."""
    npm_packages()
    first, second, third = cluster.nodes
    done = subprocess.run(
        ["node", "partysocket.mjs"], cwd=JS, capture_output=True, text=True, timeout=120,
        env={"PATH": os.environ["PATH"], "AK_HOST": f"127.0.0.1:{first.port}",
             "AK_POST_HOST": f"127.0.0.1:{third.port}",
             "AK_RESUME_HOST": f"127.0.0.1:{second.port}", "AK_ACTOR": "party-3",
             "AK_TOKEN": token(first, "party-3", "client:alice"),
             "AK_OTHER_TOKEN": token(third, "party-3", "client:bob")})
    assert done.stdout, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["ok"], (out.get("failure"), out["frames"])
    assert out["urls"][0].startswith(f"ws://127.0.0.1:{first.port}/parties/todo/party-3?")
    assert out["urls"][1].startswith(f"ws://127.0.0.1:{second.port}/parties/todo/party-3?")
    assert out["resumed"] == out["server"]
    assert texts(out["server"]) == ["from a PartySocket", "while it was away"]
    replay(cluster, "party-3")


def test_a_server_killed_under_load_loses_no_acknowledged_event(cluster):
    nodes = cluster.nodes

    async def go() -> None:
        async with httpx.AsyncClient(timeout=30) as http, Proxy(nodes) as proxy:
            # a timer armed on node 0, due in 2 s; a client connected through node 0
            armed = await post(http, nodes[0], "t", {"type": "REMIND", "in": 2},
                               actor_type="timers")
            assert armed.status_code == 200, armed.text
            client = ActorClient(f"http://127.0.0.1:{proxy.port}", "todo", "load",
                                 token(nodes[0], "load", "client:watcher"))
            live = client.connect(max_attempts=50, backoff=(0.05, 0.1, 0.2))
            await live.__aenter__()
            acknowledged: list[str] = []
            refused = 0
            counter = itertools.count()

            async def sender(node: Server) -> None:
                nonlocal refused
                deadline = time.monotonic() + 2.0
                while time.monotonic() < deadline:
                    text = f"e{next(counter)}"
                    try:
                        answer = await post(http, node, "load", {"type": "ADD_TODO",
                                                                 "text": text})
                    except httpx.TransportError:
                        refused += 1
                        await asyncio.sleep(0.01)
                        continue
                    if answer.status_code == 200:
                        acknowledged.append(text)

            async def killer() -> None:
                await asyncio.sleep(0.7)
                nodes[0].kill()

            await asyncio.gather(killer(), *(sender(n) for n in nodes for _ in range(3)))
            assert refused > 0  # the load really hit the killed server
            entries = await journal(http, nodes[1], "load")
            stored = [e["data"]["text"] for e in entries if e["type"] == "ADD_TODO"]
            assert set(acknowledged) <= set(stored)  # nothing acknowledged is lost
            assert len(stored) == len(set(stored))  # nor stored twice
            # the client, reconnected through the proxy to a survivor, converges
            final = await get(http, nodes[1], "load", "client:watcher")
            await live.wait_for(lambda v: v == final["snapshot"], timeout=10)
            await live.close()
            await client.aclose()

            # node 0's timer fires once, on a survivor, within wake_lease + wake_poll
            async def fired() -> bool:
                return any(e["kind"] == "timer" for e in await journal(http, nodes[2], "t",
                                                                       "timers"))

            await eventually(fired, 15, "the dead server's timer")
            await asyncio.sleep(1.5)
            timers = [e for e in await journal(http, nodes[1], "t", "timers")
                      if e["kind"] == "timer"]
            assert [e["type"] for e in timers] == ["REMINDER"]
        replay(cluster, "load")
        replay(cluster, "t", "timers")

    asyncio.run(go())


def test_a_paused_server_overwrites_nothing_and_shows_nothing_stale_when_it_resumes(cluster):
    paused, other = cluster.nodes[0], cluster.nodes[1]

    async def go() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await post(http, paused, "p", {"type": "ADD_TODO", "text": "before"})
                    ).status_code == 200
            client = ActorClient(paused.url, "todo", "p", token(paused, "p", "client:seer"))
            seen: list[list[str]] = []
            live = client.connect()
            await live.__aenter__()
            live.subscribe(lambda view: seen.append(texts(view)))
            os.kill(paused.process.pid, signal.SIGSTOP)
            # sent to the paused server: it takes it when it resumes, on a stale copy
            late = asyncio.ensure_future(post(http, paused, "p", {"type": "ADD_TODO",
                                                                  "text": "late"}))
            for k in range(5):  # meanwhile the others move on
                assert (await post(http, other, "p", {"type": "ADD_TODO", "text": f"o{k}"})
                        ).status_code == 200
            await asyncio.sleep(0.5)
            os.kill(paused.process.pid, signal.SIGCONT)
            answer = await asyncio.wait_for(late, 20)
            assert answer.status_code == 200, answer.text
            assert answer.json()["seq"] == 7  # after the others' steps, not over them
            final = await get(http, other, "p", "client:seer")
            assert texts(final["snapshot"]) == ["before", *(f"o{k}" for k in range(5)), "late"]
            await live.wait_for(lambda v: v == final["snapshot"], timeout=10)
            for shown in seen:  # every state the client was shown was a stored one
                assert shown == texts(final["snapshot"])[:len(shown)]
            await live.close()
            await client.aclose()
        replay(cluster, "p")

    asyncio.run(go())


def test_the_database_restarted_under_load_fails_requests_cleanly_then_serves_again(cluster):
    nodes = cluster.nodes

    async def go() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            acknowledged: list[str] = []
            statuses: list[int] = []
            counter = itertools.count()
            down_for = 1.5

            async def sender(node: Server) -> None:
                deadline = time.monotonic() + down_for + 1.5
                while time.monotonic() < deadline:
                    text = f"d{next(counter)}"
                    answer = await post(http, node, "db", {"type": "ADD_TODO", "text": text})
                    statuses.append(answer.status_code)
                    if answer.status_code == 200:
                        acknowledged.append(text)
                    else:
                        assert answer.status_code == 503, answer.text
                        await asyncio.sleep(0.05)

            async def restart() -> None:
                await asyncio.sleep(0.5)
                await asyncio.to_thread(postgres.stop)
                await asyncio.sleep(down_for)
                await asyncio.to_thread(postgres.start)

            await asyncio.gather(restart(), *(sender(n) for n in nodes))
            assert 503 in statuses and 200 in statuses

            async def serving() -> bool:  # every server takes events again on its own
                answers = [await post(http, n, "db", {"type": "ADD_TODO", "text": "after"})
                           for n in nodes]
                for a in answers:
                    if a.status_code == 200:
                        acknowledged.append("after")
                return all(a.status_code == 200 for a in answers)

            await eventually(serving, 20, "the servers after the database came back")
            entries = await journal(http, nodes[0], "db")
            stored = [e["data"]["text"] for e in entries if e["type"] == "ADD_TODO"]
            assert set(acknowledged) <= set(stored)
        replay(cluster, "db")

    asyncio.run(go())


def test_workers_serve_one_store_from_several_processes(project, postgres_url, tmp_path):
    cluster = Cluster(project, postgres_url, tmp_path)
    node = cluster.start("--workers", "2")
    try:
        async def go() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                answers = await asyncio.gather(*(
                    post(http, node, "w", {"type": "ADD_TODO", "text": f"w{k}"})
                    for k in range(30)))
                assert [a.status_code for a in answers] == [200] * 30
                entries = await journal(http, node, "w")
                assert [e["seq"] for e in entries] == list(range(31))

        asyncio.run(go())
        replay(cluster, "w")
    finally:
        node.stop()
