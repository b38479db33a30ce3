"""The lobby and room example (charts/lobby.yaml and charts/room.yaml), served for real: the
lobby opens a room with ctx.tell (spawning it with its players), the room reports that it
opened and who won, and both replay to what is stored."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx
from servers import Server, servers
from support import ROOT


def call(node: Server, method: str, actor_type: str, actor_id: str, caller: str,
         event: dict[str, Any] | None = None) -> httpx.Response:
    bearer = node.token(actor_type, actor_id, caller)
    return httpx.request(method, f"{node.url}/api/{actor_type}/{actor_id}", json=event,
                         headers={"Authorization": f"Bearer {bearer}"}, timeout=30)


def rooms_when(node: Server, status: str) -> dict[str, Any]:
    """The lobby's rooms once one of them has ``status``."""
    for _ in range(400):
        answer = call(node, "GET", "lobby", "main", "client:alice")
        assert answer.status_code == 200, answer.text
        rooms = answer.json()["snapshot"]["public"]["rooms"]
        if any(r["status"] == status for r in rooms.values()):
            return rooms  # type: ignore[no-any-return]
        time.sleep(0.025)
    raise AssertionError(f"no room became {status}")


def test_a_lobby_opens_a_room_that_reports_back_who_won():
    with servers(ROOT, cli=[]) as launcher:
        node = launcher.start()
        opened = call(node, "POST", "lobby", "main", "client:alice",
                      {"type": "OPEN_ROOM", "players": ["alice", "bob"]})
        assert opened.status_code == 200, opened.text
        (room_id, room), = rooms_when(node, "playing").items()
        assert room == {"players": ["alice", "bob"], "status": "playing", "winner": None}
        carol = call(node, "POST", "room", room_id, "client:carol", {"type": "WIN"})
        assert carol.status_code == 200 and carol.json()["handled"] is False  # not a player
        start = call(node, "POST", "room", room_id, "client:bob", {"type": "START"})
        assert start.status_code == 400 and "actor-only event" in start.text
        won = call(node, "POST", "room", room_id, "client:bob", {"type": "WIN"})
        assert won.status_code == 200 and won.json()["handled"] is True
        assert rooms_when(node, "over")[room_id]["winner"] == "bob"
        view = call(node, "GET", "room", room_id, "client:bob").json()["snapshot"]
        assert view["public"] == {"lobby": "main", "players": ["alice", "bob"],
                                  "winner": "bob"}
        made = call(node, "GET", "room", "mine", "client:carol")  # rooms come from lobbies
        assert made.status_code == 400 and "players" in made.text
        for actor_type, actor_id in (("lobby", "main"), ("room", room_id)):
            done = subprocess.run([sys.executable, "-m", "actorkit", "replay", "--project",
                                   str(ROOT), "--store", str(launcher.db), actor_type,
                                   actor_id], capture_output=True, text=True, timeout=60)
            assert done.returncode == 0 and ": the same" in done.stdout, done.stdout + \
                done.stderr
