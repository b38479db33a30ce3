"""Messages between actors, exactly once through crashes: a real ``actorkit serve`` on SQLite
killed with SIGKILL while it delivers a stream of messages, then started again; and three
servers on one PostgreSQL database, the one delivering killed. Every message ends up in the
receiver's journal once, in the order told, and both actors replay to what is stored."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import Server, servers
from support import ROOT
from test_cluster_serve import Cluster, cluster  # noqa: F401  (its fixture, on this project)

COUNT = 200


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The teller and tally charts of the tests: a teller tells a tally numbers."""
    folder = tmp_path / "project"
    for part in ("hooks", "schemas"):
        (folder / "charts" / part).mkdir(parents=True)
    for name in ("teller", "tally"):
        shutil.copy(ROOT / "tests" / "charts" / f"{name}.yaml", folder / "charts")
        shutil.copy(ROOT / "tests" / "charts" / "hooks" / f"{name}.py",
                    folder / "charts" / "hooks")
        shutil.copy(ROOT / "tests" / "charts" / "schemas" / f"{name}.yaml",
                    folder / "charts" / "schemas")
    return folder


def tell_many(node: Server) -> None:
    bearer = node.token("teller", "t1", "client:alice")
    answer = httpx.post(f"{node.url}/api/teller/t1", timeout=30,
                        json={"type": "TELL_MANY", "to": "tally", "id": "x", "count": COUNT},
                        headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code == 200, answer.text


def journal(node: Server, actor_type: str, actor_id: str) -> list[dict[str, Any]]:
    bearer = node.token(actor_type, actor_id, "service:ops")
    found: list[dict[str, Any]] = []
    while True:
        answer = httpx.get(f"{node.url}/api/{actor_type}/{actor_id}/events", timeout=30,
                           params={"after": found[-1]["seq"] if found else -1, "limit": 1000},
                           headers={"Authorization": f"Bearer {bearer}"})
        if answer.status_code == 404:
            return found
        assert answer.status_code == 200, answer.text
        page = answer.json()["events"]
        if not page:
            return found
        found += page


def taken(entries: list[dict[str, Any]]) -> list[int]:
    return [e["data"]["data"]["n"] for e in entries if e["kind"] == "message"]


def wait_until_delivered(node: Server) -> None:
    """Until the teller's journal says every message was taken out of its outbox."""
    for _ in range(1200):
        if sum(e["type"] == "DELIVERED" for e in journal(node, "teller", "t1")) >= COUNT:
            return
        time.sleep(0.05)
    raise AssertionError("the messages were not all delivered")


def replay(project: Path, store: str, actor_type: str, actor_id: str) -> None:
    done = subprocess.run([sys.executable, "-m", "actorkit", "replay", "--project",
                           str(project), "--store", store, actor_type, actor_id],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": the same" in done.stdout


def check_once_in_order(node: Server, project: Path, store: str) -> None:
    wait_until_delivered(node)
    received = journal(node, "tally", "x")
    assert taken(received) == list(range(COUNT))  # each once, in the order told
    assert {e["caller"]["id"] for e in received if e["kind"] == "message"} == {"teller/t1"}
    sent = journal(node, "teller", "t1")
    delivered = [e["data"]["message"] for e in sent if e["type"] == "DELIVERED"]
    assert delivered == [[1, n] for n in range(COUNT)]
    for actor_type, actor_id in (("teller", "t1"), ("tally", "x")):
        replay(project, store, actor_type, actor_id)


def test_sigkill_while_delivering_on_sqlite_loses_and_repeats_nothing(project: Path):
    with servers(project, cli=[]) as launcher:
        first = launcher.start()
        tell_many(first)
        db = sqlite3.connect(f"file:{launcher.db}?mode=ro", uri=True)
        for _ in range(2000):  # until the tally has taken a few: delivery is under way
            row = db.execute("SELECT count(*) FROM journal WHERE type = 'tally' AND "
                             "kind = 'message'").fetchone()
            if row[0] >= 5:
                break
            time.sleep(0.002)
        first.kill()
        left = db.execute("SELECT snapshot FROM actors WHERE type = 'teller'").fetchone()
        db.close()
        assert json.loads(left[0]).get("outbox"), "killed after the last delivery: too late"
        second = launcher.start()  # its start arms the teller's wake-up: delivery goes on
        check_once_in_order(second, project, str(launcher.db))


def test_the_server_delivering_killed_on_postgres_the_others_deliver_the_rest_once(
        cluster: Cluster, project: Path, postgres_url: str):  # noqa: F811
    import asyncpg

    delivering, other, _ = cluster.nodes

    async def kill_while_delivering() -> int:
        db = await asyncpg.connect(postgres_url)
        try:
            for _ in range(20_000):  # until the tally has taken a few: delivery under way
                taken = await db.fetchval("SELECT count(*) FROM actorkit_journal WHERE "
                                          "type = 'tally' AND kind = 'message'")
                if taken >= 5:
                    break
                await asyncio.sleep(0.001)
            delivering.kill()
            snapshot = await db.fetchval("SELECT snapshot FROM actorkit_actors WHERE "
                                         "type = 'teller'")
            return len(json.loads(snapshot).get("outbox", []))
        finally:
            await db.close()

    tell_many(delivering)  # the node that commits the tells delivers them, until it is killed
    assert asyncio.run(kill_while_delivering()), "killed after the last delivery: too late"
    check_once_in_order(other, project, postgres_url)
