"""Actor Kit's own JavaScript client (npm ``actor-kit`` 0.47.0, run by Node) against an
actorkit server: ``createAccessToken``, ``createActorFetch`` and ``createActorKitClient`` work
unchanged, the way Actor Kit's todo example uses them.

The npm packages are pinned in tests/js/package-lock.json and installed here on first use
(``npm ci``); the client is bundled with esbuild because actor-kit 0.47 does not load in plain
Node as published (its server entry is TypeScript).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from node import JS, npm_packages
from servers import SECRET, serve
from support import ROOT

BUNDLE = JS / "build" / "actor-kit-node.mjs"


@pytest.fixture(scope="module")
def bundle() -> Path:
    npm_packages()
    esbuild = JS / "node_modules" / ".bin" / "esbuild"
    subprocess.run([str(esbuild), "entry.mjs", "--bundle", "--platform=node", "--format=esm",
                    "--target=node20", "--external:cloudflare:workers",
                    f"--outfile={BUNDLE}", "--log-level=warning"],
                   cwd=JS, check=True, timeout=120)
    return BUNDLE


def test_actor_kits_own_client_runs_the_todo_flow(bundle):
    with serve(ROOT) as server:
        done = subprocess.run(
            ["node", "flow.mjs"], cwd=JS, capture_output=True, text=True, timeout=120,
            env={"PATH": os.environ["PATH"], "AK_HOST": f"127.0.0.1:{server.port}",
                 "AK_SECRET": SECRET, "AK_ACTOR": "js-list-1"})
    assert done.stdout, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["ok"], out.get("failure")
    assert done.returncode == 0
    assert out["firstSnapshot"] == {"public": {"lastSync": None, "todos": []},
                                    "private": {"filter": "all"},
                                    "value": {"Initialization": "Ready", "TodoList": {}}}
    assert len(out["firstChecksum"]) == 64
    # both clients' patched state is exactly the server's view of each
    assert out["alice"] == out["serverAlice"]
    assert out["bob"] == out["serverBob"]
    assert out["alice"]["public"]["todos"] == [
        {"completed": False, "id": "a", "text": "from the service"}]
    assert out["alice"]["private"] == {"filter": "all"}
    assert out["bob"]["private"] == {"filter": "completed"}
    assert out["readyValue"] == {"Initialization": "Ready", "TodoList": {}}
    assert out["timeout"].startswith("Timeout waiting for actor response")
    assert out["unauthorized"] == "Failed to fetch actor: Unauthorized"
    assert out["errors"] == []  # nothing the client could not handle
