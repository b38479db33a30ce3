"""PartySocket clients (npm ``partysocket``, run by Node), set up as Actor Kit's README sets
them up: ``host``, ``party`` (the actor type), ``room`` (the actor id), ``id`` and
``query: { token }``. They connect to ``/parties/{party}/{room}`` and get what any client
gets; events they send are checked and run; a reconnect resumes from the last checksum."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from node import JS, npm_packages
from servers import serve
from support import ROOT
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect


def test_partysocket_connects_sends_and_resumes_from_its_checksum():
    npm_packages()
    with serve(ROOT, cli=["--log-level", "info"]) as server:
        token = server.token("todo", "party-1", "client:alice")
        done = subprocess.run(
            ["node", "partysocket.mjs"], cwd=JS, capture_output=True, text=True, timeout=120,
            env={"PATH": os.environ["PATH"], "AK_HOST": f"127.0.0.1:{server.port}",
                 "AK_ACTOR": "party-1", "AK_TOKEN": token,
                 "AK_OTHER_TOKEN": server.token("todo", "party-1", "client:bob")})
        log = server.read_log()
    assert done.stdout, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["ok"], (out.get("failure"), out["frames"])
    assert out["urls"][0].startswith(f"ws://127.0.0.1:{server.port}/parties/todo/party-1?")
    assert "_pk=connection-1" in out["urls"][0]
    assert out["first"] == {"public": {"lastSync": None, "todos": []},
                            "private": {"filter": "all"},
                            "value": {"Initialization": "Ready", "TodoList": {}}}
    assert [t["text"] for t in out["added"]["public"]["todos"]] == ["from a PartySocket"]
    # an event its schema refuses is told to it, and changes nothing
    assert out["refused"]["kind"] == "EventRejected"
    assert "text" in out["refused"]["message"]
    # back after a todo was added without it: one frame from its checksum, with only that todo
    assert out["postStatus"] == 200
    assert "checksum=" in out["urls"][1]
    resumed = [f for f in out["resumedFrames"] if f["operations"]]
    assert len(resumed) == 1
    assert [op["op"] for op in resumed[0]["operations"]] == ["add"]
    assert resumed[0]["operations"][0]["value"]["text"] == "while it was away"
    assert out["resumed"] == out["server"]
    assert [t["text"] for t in out["server"]["public"]["todos"]] == [
        "from a PartySocket", "while it was away"]
    # its token, in its URL, is never in the server's log
    assert "/parties/todo/party-1" in log
    assert token not in log and "token=[redacted]" in log


def test_a_partysocket_with_a_token_for_another_actor_is_refused():
    npm_packages()
    with serve(ROOT) as server:
        script = (
            "import PartySocket from 'partysocket'; import WS from 'ws';"
            "const s = new PartySocket({host: process.env.AK_HOST, party: 'todo', room: 'b',"
            " query: {token: process.env.AK_TOKEN}, WebSocket: WS, maxRetries: 0});"
            "s.addEventListener('message', (m) => console.log(JSON.stringify({frame: m.data})));"
            "s.addEventListener('error', (e) => { console.log(JSON.stringify({error:"
            " String(e.message)})); s.close(); });")
        done = subprocess.run(
            ["node", "--input-type=module", "-e", script], cwd=JS, capture_output=True,
            text=True, timeout=60,
            env={"PATH": os.environ["PATH"], "AK_HOST": f"127.0.0.1:{server.port}",
                 "AK_TOKEN": server.token("todo", "a", "client:alice")})
    assert done.stdout, done.stderr
    seen = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert seen == [{"error": "Unexpected server response: 401"}]


def test_accesstoken_and_token_both_given_must_agree():
    with serve(ROOT) as server:
        alice = server.token("todo", "a", "client:alice")
        bob = server.token("todo", "a", "client:bob")
        with pytest.raises(InvalidStatus) as refused, \
                connect(f"{server.ws}/parties/todo/a?accessToken={alice}&token={bob}"):
            pass
        assert refused.value.response.status_code == 400
        assert b"accessToken and token differ" in refused.value.response.body
        # the same token under both names, or either name alone, on either path
        for path in (f"/parties/todo/a?accessToken={alice}&token={alice}",
                     f"/api/todo/a?token={alice}", f"/parties/todo/a?accessToken={alice}"):
            with connect(server.ws + path) as ws:
                assert json.loads(ws.recv(timeout=5))["operations"]
