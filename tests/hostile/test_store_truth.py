"""What is acknowledged is what is stored, exactly: against a real ``actorkit serve`` on
127.0.0.1 (and its SQLite file), killed and restarted where it matters.

The chart is ``truth/charts/ledger.yaml``: a value set as it comes, numbers computed by a hook
(into the public part, the caller's bucket or an internal key), entries added one by one, and
watchers counted from CONNECT and DISCONNECT.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from servers import SECRET, Server, free_port, serve, servers

PROJECT = Path(__file__).parent / "truth"


def request(server: Server, method: str, actor_id: str, body: Any = None,
            caller: str = "client:alice", timeout: float = 10.0, then: str = "",
            **params: str) -> httpx.Response:
    token = server.token("ledger", actor_id, caller)
    content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return httpx.request(method, f"{server.url}/api/ledger/{actor_id}{then}", content=content,
                         params=params, headers={"Authorization": f"Bearer {token}"},
                         timeout=timeout)


def post(server: Server, actor_id: str, event: Any, **kw: Any) -> httpx.Response:
    return request(server, "POST", actor_id, event, **kw)


def view(server: Server, actor_id: str, **kw: Any) -> Any:
    r = request(server, "GET", actor_id, **kw)
    assert r.status_code == 200, r.text
    return r.json()["snapshot"]


def ws_url(server: Server, actor_id: str, caller: str = "client:alice") -> str:
    token = server.token("ledger", actor_id, caller)
    return f"{server.ws}/api/ledger/{actor_id}?accessToken={token}"


@pytest.fixture(scope="module")
def server():
    with serve(PROJECT, cli=[]) as running:
        yield running


# -- numbers -------------------------------------------------------------------------------------

def test_integers_json_cannot_carry_exactly_are_refused_not_rounded(server):
    for big in (2**64 + 1, 2**100, -(2**63) - 1, 10**400):
        r = post(server, "big-1", b'{"type": "SET", "value": %d}' % big)
        assert r.status_code == 400, (big, r.text)
        assert r.json()["pointer"] == "/value"
        assert "send it as a string" in r.json()["error"]
    assert view(server, "big-1")["public"]["value"] is None  # nothing was stored
    # the extremes of what is stored exactly come back exactly, before and after a restart
    for edge in (2**64 - 1, -(2**63), "18446744073709551617"):
        assert post(server, "big-1", {"type": "SET", "value": edge}).status_code == 200
        assert view(server, "big-1")["public"]["value"] == edge
    # the same in spawn input and in the JSON of a wait
    r = request(server, "GET", "big-2", input='{"n": 18446744073709551617}')
    assert r.status_code == 400 and "send it as a string" in r.json()["error"], r.text
    r = request(server, "GET", "big-1", waitForEvent=f'{{"type": "SET", "value": {2**100}}}')
    assert r.status_code == 400 and "send it as a string" in r.json()["error"], r.text

    async def over_a_websocket() -> None:
        async with websockets.connect(ws_url(server, "big-1")) as ws:
            json.loads(await asyncio.wait_for(ws.recv(), 5))
            await ws.send(f'{{"type": "SET", "value": {2**100}}}')
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert frame["operations"] == []
            assert frame["error"]["kind"] == "EventRejected"
            assert frame["error"]["pointer"] == "/value"

    asyncio.run(over_a_websocket())
    assert view(server, "big-1")["public"]["value"] == "18446744073709551617"


def test_a_hook_that_computes_what_json_cannot_carry_fails_its_step():
    with servers(PROJECT, cli=[]) as launcher:
        server = launcher.start()
        assert post(server, "calc-1", {"type": "SET", "value": 1}).status_code == 200
        before = view(server, "calc-1")
        for event, where in [
            ({"a": 1e308, "b": 10, "op": "mul"}, "/public/value"),  # inf
            ({"a": -1e308, "b": 10, "op": "mul"}, "/public/value"),  # -inf
            ({"a": 1e308, "b": 10, "op": "diff"}, "/public/value"),  # nan
            ({"a": 2, "b": 100, "op": "pow"}, "/public/value"),  # 2**100
            ({"a": 1e308, "b": 10, "op": "mul", "into": "private"}, "/private/alice/value"),
            ({"a": 1e308, "b": 10, "op": "diff", "into": "internal"}, "/scratch/value"),
        ]:
            r = post(server, "calc-1", {"type": "CALC", **event})
            assert r.status_code == 500, (event, r.text)
            assert r.json()["kind"] == "ContextError", r.text
            assert f"at {where}:" in r.json()["error"], r.text
            assert view(server, "calc-1") == before
        server.kill()
        server = launcher.start()
        assert view(server, "calc-1") == before
        assert post(server, "calc-1", {"type": "CALC", "a": 2, "b": 3, "op": "mul"}).status_code \
            == 200
        assert view(server, "calc-1")["public"]["value"] == 6


# -- the SQLite file -----------------------------------------------------------------------------

def add(server: Server, actor_id: str, text: str, **kw: Any) -> httpx.Response:
    return post(server, actor_id, {"type": "ADD", "text": text}, **kw)


@pytest.mark.parametrize("how", ["deleted", "replaced", "log-deleted"])
def test_a_store_file_deleted_or_replaced_while_serving_acknowledges_nothing_more(how,
                                                                                tmp_path):
    db = tmp_path / "actors.db"
    with servers(PROJECT, db=db, cli=[]) as launcher:
        server = launcher.start()
        for i in range(3):
            assert add(server, "doc-1", f"kept {i}").status_code == 200
        if how == "deleted":
            for name in ("actors.db", "actors.db-wal", "actors.db-shm"):
                (tmp_path / name).unlink()
        elif how == "replaced":
            (tmp_path / "other.db").write_bytes(db.read_bytes())
            (tmp_path / "other.db").replace(db)
        else:
            (tmp_path / "actors.db-wal").unlink()
        answers = [add(server, "doc-1", f"lost {i}") for i in range(10)]
        assert [r.status_code for r in answers] == [503] * 10, answers[0].text
        assert "deleted or replaced while the server was running" in answers[0].json()["error"]
        assert "start it again" in answers[0].json()["error"]
        assert "deleted or replaced while the server was running" in server.read_log()
        # a new actor is refused too, rather than stored where no restart will find it
        assert add(server, "doc-2", "lost").status_code == 503
        if how == "deleted":
            server.stop()
            server = launcher.start()  # on a new, empty file: nothing acknowledged is missing
            assert view(server, "doc-1")["public"]["entries"] == []


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "actorkit", "serve", "--project", str(PROJECT), "--host",
            "127.0.0.1", "--port", str(port), "--log-level", "warning"]


def test_a_second_server_on_one_store_is_refused_and_a_killed_one_leaves_no_lock(tmp_path):
    db = tmp_path / "actors.db"
    with servers(PROJECT, db=db, cli=[]) as launcher:
        first = launcher.start()
        assert add(first, "doc-1", "one").status_code == 200
        env = {**os.environ, "ACTOR_KIT_SECRET": SECRET, "ACTORKIT_DB": str(db)}
        second = subprocess.run(serve_command(free_port()), env=env, capture_output=True,
                                text=True, timeout=30, check=False)
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"the actor store {db} is in use by another actorkit server (process " \
               f"{first.process.pid})" in second.stderr
        assert "Traceback" not in second.stderr
        assert add(first, "doc-1", "two").status_code == 200  # the first one goes on
        first.kill()
        again = launcher.start()  # kill -9 left no lock behind
        assert view(again, "doc-1")["public"]["entries"] == ["one", "two"]


class SqliteWriter:
    """Another process holding the store's write lock (``BEGIN IMMEDIATE``) until told."""

    SCRIPT = ("import sqlite3, sys\n"
              "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
              "db.execute('BEGIN IMMEDIATE')\n"
              "print('locked', flush=True)\n"
              "sys.stdin.readline()\n"
              "db.execute('COMMIT')\n")

    def __init__(self, db: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(db)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout is not None and self.process.stdin is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        self.process.communicate("\n", timeout=10)  # and its pipes closed
        assert self.process.returncode == 0


def answered_while(server: Server, pending: concurrent.futures.Future[httpx.Response],
                   seconds: float) -> int:
    """GETs of another actor (in memory) answered while ``pending`` waits, each within 1 s,
    for about ``seconds``; the number answered."""
    answered = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not pending.done():
        started = time.monotonic()
        assert request(server, "GET", "doc-b", timeout=5).status_code == 200
        assert time.monotonic() - started < 1.0, "the loop was blocked"
        answered += 1
        time.sleep(0.05)
    return answered


def test_another_process_holding_the_write_lock_never_blocks_the_server(tmp_path):
    db = tmp_path / "actors.db"
    with servers(PROJECT, db=db, cli=[], extra_env={"ACTORKIT_STORE_WAIT": "2"}) as launcher, \
            concurrent.futures.ThreadPoolExecutor(2) as pool:
        server = launcher.start()
        for actor_id in ("doc-a", "doc-b"):
            assert add(server, actor_id, "first").status_code == 200
        # a lock released in time: the write waits for it, and gets through
        writer = SqliteWriter(db)
        pending = pool.submit(add, server, "doc-a", "waited")
        assert answered_while(server, pending, 0.8) >= 3
        assert not pending.done()
        writer.release()
        assert pending.result(timeout=10).status_code == 200, pending.result().text
        assert view(server, "doc-a")["public"]["entries"] == ["first", "waited"]
        # a lock held past ACTORKIT_STORE_WAIT: 503, and the others were served meanwhile
        writer = SqliteWriter(db)
        started = time.monotonic()
        pending = pool.submit(add, server, "doc-a", "refused")
        assert answered_while(server, pending, 6) >= 3
        r = pending.result(timeout=10)
        assert r.status_code == 503, r.text
        assert "stayed locked by another process" in r.json()["error"]
        assert 1.5 < time.monotonic() - started < 8
        writer.release()
        assert view(server, "doc-a")["public"]["entries"] == ["first", "waited"]
        assert add(server, "doc-a", "after").status_code == 200


def test_a_damaged_snapshot_row_is_a_json_error_for_that_actor_only(tmp_path):
    db = tmp_path / "actors.db"
    with servers(PROJECT, db=db, cli=[]) as launcher:
        server = launcher.start()
        for actor_id in ("doc-1", "doc-2"):
            assert add(server, actor_id, "one").status_code == 200
        server.stop()
        with closing(sqlite3.connect(db)) as store:
            store.execute("UPDATE actors SET snapshot = ? WHERE id = 'doc-1'",
                          (b'{"format": 1, "actor": {"type": "led',))
            store.commit()
        server = launcher.start()
        for r in (request(server, "GET", "doc-1"), add(server, "doc-1", "two")):
            assert r.status_code == 500
            assert r.headers["content-type"] == "application/json"
            assert r.json()["kind"] == "SnapshotError", r.text
            assert "the stored snapshot of ledger/doc-1 is damaged" in r.json()["error"]
            assert "restore the actor store from a backup" in r.json()["error"]
        assert add(server, "doc-2", "two").status_code == 200  # the others are served
        assert view(server, "doc-2")["public"]["entries"] == ["one", "two"]

        async def over_websockets() -> None:
            async with websockets.connect(ws_url(server, "doc-1")) as ws:
                with pytest.raises(websockets.ConnectionClosedError) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
                assert "SnapshotError" in closed.value.rcvd.reason or \
                    "damaged" in closed.value.rcvd.reason
            async with websockets.connect(ws_url(server, "doc-2")) as ws:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert frame["operations"] and "error" not in frame

        asyncio.run(over_websockets())
        assert "Exception in ASGI application" not in server.read_log()  # nothing unhandled


# -- reconnect churn -----------------------------------------------------------------------------

def journal(server: Server, actor_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after = -1
    for _ in range(100):  # pages
        r = request(server, "GET", actor_id, then="/events", caller="service:ops",
                    after=str(after), limit="1000")
        assert r.status_code == 200, r.text
        page = r.json()
        entries += page["events"]
        if not page["events"]:
            return entries
        after = page["next"]
    raise AssertionError("the journal did not end")


def test_reconnect_churn_does_not_grow_the_journal(server):
    cycles = 300

    async def churn() -> int:
        done = 0
        deadline = time.monotonic() + 60
        url = ws_url(server, "churn-1")
        while done < cycles and time.monotonic() < deadline:
            async with websockets.connect(url) as ws:
                await asyncio.wait_for(ws.recv(), 5)  # the view: the connection is in
            done += 1
        return done

    assert asyncio.run(churn()) == cycles
    kinds = [e["type"] for e in journal(server, "churn-1")]
    assert kinds.count("CONNECT") == 1, kinds[:10]
    assert kinds.count("DISCONNECT") <= 1
    assert len(kinds) <= 3  # the spawn, one CONNECT, perhaps the last DISCONNECT
    for _ in range(100):  # gone for good: DISCONNECT once the grace (1 s) is over
        if view(server, "churn-1")["public"]["watchers"] == 0:
            break
        time.sleep(0.05)
    assert view(server, "churn-1")["public"]["watchers"] == 0
    assert [e["type"] for e in journal(server, "churn-1")].count("DISCONNECT") == 1
