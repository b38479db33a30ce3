"""The inspector page's doors and data, over HTTP against real servers (the page itself is
tested in a browser: test_inspector_browser.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
from servers import SECRET, free_port, serve
from support import ROOT
from websockets.sync.client import connect

from actorkit.auth import create_access_token


def project(tmp_path: Path) -> Path:
    """A copy of the example project (the development secret is written into it)."""
    for part in ("charts", "hooks", "schemas"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def inspector_token(secret: str = SECRET, caller: str = "service:ops") -> str:
    kind, _, ident = caller.partition(":")
    return create_access_token(secret, "inspector", "_inspect", ident, kind)


def page_token(html: str) -> str:
    found = re.search(r'<meta name="actorkit-token" content="([^"]*)">', html)
    assert found is not None
    return found.group(1)


AUCTION = {"title": "Lamp", "startingPrice": 10, "increment": 1, "reservePrice": 0,
           "durationSeconds": 600, "sellerId": "sam"}


def test_actorkit_serve_in_development_opens_the_inspector_without_asking(tmp_path):
    folder = project(tmp_path)
    # no ACTOR_KIT_SECRET: actorkit serve on 127.0.0.1 makes the development secret
    with serve(folder, cli=[], extra_env={"ACTOR_KIT_SECRET": ""}) as server:
        page = httpx.get(f"{server.url}/_inspect/")
        assert page.status_code == 200
        assert "actorkit inspector" in page.text
        token = page_token(page.text)
        types = httpx.get(f"{server.url}/_inspect/api/types",
                          headers={"Authorization": f"Bearer {token}"}).json()
        assert [t["type"] for t in types["types"]] == [
            "auction", "checkout", "lobby", "room", "todo"]
        todo = types["types"][4]
        assert todo["graph"]["root"]["name"] == "root"
        assert set(todo["events"]["client"]) == {"ADD_TODO", "TOGGLE_TODO", "REMOVE_TODO",
                                                 "SET_FILTER"}
        assert httpx.get(f"{server.url}/_inspect/static/diagram.js").status_code == 200
        server.stop()
        assert f"inspector: http://127.0.0.1:{server.port}/_inspect/" in server.read_log()


def test_in_production_the_inspector_is_not_served_unless_enabled(tmp_path):
    with serve(project(tmp_path)) as server:  # ACTOR_KIT_SECRET set: not development
        assert httpx.get(f"{server.url}/_inspect/").status_code == 404
        assert httpx.get(f"{server.url}/_inspect/api/types", headers={
            "Authorization": f"Bearer {inspector_token()}"}).status_code == 404


def test_enabled_in_production_it_asks_for_an_inspector_token_and_takes_no_other(tmp_path):
    with serve(project(tmp_path), extra_env={"ACTORKIT_INSPECTOR": "1"}) as server:
        page = httpx.get(f"{server.url}/_inspect/")
        assert page.status_code == 200
        assert page_token(page.text) == ""  # the page asks for one
        types = f"{server.url}/_inspect/api/types"
        refused = httpx.get(types)
        assert refused.status_code == 401
        assert "actorkit token --type _inspect --id inspector" in refused.json()["error"]
        others = [create_access_token(SECRET, "list-1", "todo", "ops", "service"),
                  inspector_token(caller="client:eve"),
                  inspector_token(secret="another-secret-" + "y" * 32)]
        for token in others:
            answer = httpx.get(types, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code in (401, 403), answer.text
        ok = httpx.get(types, headers={"Authorization": f"Bearer {inspector_token()}"})
        assert ok.status_code == 200


def test_a_wrong_inspector_setting_stops_the_server_with_what_to_set(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "from actorkit.server import create_app; create_app()"],
        env={"PATH": "/usr/bin:/bin", "ACTORKIT_PROJECT": str(project(tmp_path)),
             "ACTOR_KIT_SECRET": SECRET, "ACTORKIT_INSPECTOR": "yes"},
        capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ACTORKIT_INSPECTOR is 1 (serve the inspector page) or 0" in done.stderr


def test_the_inspector_lists_reads_and_replays_actors(tmp_path):
    with serve(project(tmp_path), extra_env={"ACTORKIT_INSPECTOR": "1"}) as server:
        api = f"{server.url}/api/todo"
        for actor_id, caller, event in [
                ("list-1", "alice", {"type": "ADD_TODO", "text": "Buy milk"}),
                ("list-1", "bob", {"type": "SET_FILTER", "filter": "completed"}),
                ("list-2", "alice", {"type": "ADD_TODO", "text": "Walk"}),
                ("other", "alice", {"type": "ADD_TODO", "text": "Read"})]:
            token = create_access_token(SECRET, actor_id, "todo", caller, "client")
            assert httpx.post(f"{api}/{actor_id}", json=event,
                              headers={"Authorization": f"Bearer {token}"}).status_code == 200
        auth = {"Authorization": f"Bearer {inspector_token()}"}
        base = f"{server.url}/_inspect/api/actors/todo"
        assert httpx.get(base, headers=auth).json() == {"ids": ["list-1", "list-2", "other"],
                                                        "next": None}
        assert httpx.get(base, params={"limit": 2}, headers=auth).json() == {
            "ids": ["list-1", "list-2"], "next": "list-2"}
        assert httpx.get(base, params={"q": "LIST"}, headers=auth).json()["ids"] == [
            "list-1", "list-2"]
        one = httpx.get(f"{base}/list-1", headers=auth).json()
        assert one["seq"] == 2
        assert [t["text"] for t in one["public"]["todos"]] == ["Buy milk"]
        assert [a["what"] for a in one["internal"]["activity"]] == ["added"]
        assert one["callers"] == ["client:alice", "client:bob"]
        # each caller's view is the one the actor route gives that caller
        bob = create_access_token(SECRET, "list-1", "todo", "bob", "client")
        served = httpx.get(f"{api}/list-1", headers={"Authorization": f"Bearer {bob}"}).json()
        seen = httpx.get(f"{base}/list-1/view", params={"caller": "client:bob"},
                         headers=auth).json()
        assert seen["view"] == served["snapshot"] and seen["checksum"] == served["checksum"]
        # step 1, rebuilt: one todo, and what the step changed
        at = httpx.get(f"{base}/list-1/at", params={"seq": 1, "caller": "client:bob"},
                       headers=auth).json()
        assert at["entry"]["type"] == "ADD_TODO"
        assert at["view"]["private"] == {"filter": "all"}  # bob had set nothing yet
        assert sorted(c["path"] for c in at["changes"]) == ["/internal/activity/0",
                                                             "/public/todos/0"]
        missing = httpx.get(f"{base}/list-1/at", params={"seq": 7}, headers=auth)
        assert missing.status_code == 404
        assert httpx.get(f"{base}/nobody", headers=auth).status_code == 404


def test_the_inspectors_watcher_changes_nothing_the_chart_sees(tmp_path):
    """An auction counts its watchers on CONNECT: the inspector watching live over the
    WebSocket must not be one, nor add a step to the journal."""
    with serve(project(tmp_path), extra_env={"ACTORKIT_INSPECTOR": "1"}) as server:
        opener = create_access_token(SECRET, "lamp", "auction", "house", "service")
        url = f"{server.url}/api/auction/lamp"
        assert httpx.post(url, params={"input": json.dumps(AUCTION)}, json={"type": "OPEN"},
                          headers={"Authorization": f"Bearer {opener}"}).status_code == 200
        auth = {"Authorization": f"Bearer {inspector_token()}"}
        minted = httpx.post(f"{server.url}/_inspect/api/actors/auction/lamp/token",
                            json={"caller": "service:actorkit-inspector"}, headers=auth).json()
        assert minted["watcher"] is True
        with connect(f"{server.ws}/api/auction/lamp?accessToken={minted['token']}") as ws:
            first = json.loads(ws.recv(timeout=10))
            assert first["operations"]
            bid = create_access_token(SECRET, "lamp", "auction", "ann", "client")
            assert httpx.post(url, json={"type": "PLACE_BID", "amount": 12},
                              headers={"Authorization": f"Bearer {bid}"}).status_code == 200
            frame = json.loads(ws.recv(timeout=10))  # the watcher sees the bid live
            assert any(op["path"].startswith("/public") for op in frame["operations"])
            actor = httpx.get(f"{server.url}/_inspect/api/actors/auction/lamp",
                              headers=auth).json()
        assert actor["connected"] == []
        assert actor["value"]["Room"]["Presence"] == "Empty"
        journal = httpx.get(f"{url}/events", headers={"Authorization": f"Bearer {opener}"})
        assert [e["type"] for e in journal.json()["events"]] == [None, "OPEN", "PLACE_BID"]


def test_an_app_of_ones_own_mounts_the_inspector_with_create_router(tmp_path):
    folder = project(tmp_path)
    (folder / "app.py").write_text(
        "from fastapi import FastAPI\n"
        "from actorkit.lint import load_charts\n"
        "from actorkit.runtime import ActorSystem\n"
        "from actorkit.server import create_router\n"
        "from actorkit.store import MemoryStore\n"
        "system = ActorSystem(load_charts(['charts']), store=MemoryStore())\n"
        "app = FastAPI()\n"
        f"app.include_router(create_router(system, secret={SECRET!r}, inspector=True),\n"
        "                   prefix='/api')\n")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "app:app", "--port", str(port),
                                "--log-level", "warning"], cwd=folder)
    try:
        base = f"http://127.0.0.1:{port}/api"
        for _ in range(400):
            try:
                page = httpx.get(f"{base}/_inspect/", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "the app did not start"
                time.sleep(0.05)
        assert page.status_code == 200
        assert page_token(page.text) == ""  # it asks for an inspector token
        assert '<meta name="actorkit-api" content="/api">' in page.text
        auth = {"Authorization": f"Bearer {inspector_token()}"}
        assert httpx.get(f"{base}/_inspect/api/types").status_code == 401
        types = httpx.get(f"{base}/_inspect/api/types", headers=auth).json()["types"]
        assert [t["type"] for t in types] == ["auction", "checkout", "lobby", "room", "todo"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_wheel_ships_the_inspector_page(tmp_path):
    """Everything the page loads is package data: a wheel holds it (and so works offline)."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("actorkit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("inspector.html", "inspector.js", "inspector.css", "diagram.js"):
        assert f"actorkit/server/static/{name}" in names
    html = (ROOT / "actorkit" / "server" / "static" / "inspector.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from elsewhere
