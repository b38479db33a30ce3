"""Event names as sismic takes them: `goto s2` and `state entered` are declared in the schemas
file and sent over HTTP and WebSocket like any other; a name that cannot work is refused with
what a name may be."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import websockets
from servers import serve

from actorkit import inspect_chart

SIMPLE = Path(__file__).resolve().parent / "sismic" / "tests" / "yaml" / "simple.yaml"


def project(tmp_path: Path, events: str) -> Path:
    (tmp_path / "charts").mkdir()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "simple.yaml").write_text(f"client:\n{events}", encoding="utf-8")
    # sismic's own chart, unchanged, under the two lines that make it an actor type
    (tmp_path / "charts" / "simple.yaml").write_text(
        "actor: simple\nschemas: schemas/simple.yaml\n" + SIMPLE.read_text(encoding="utf-8"),
        encoding="utf-8")
    return tmp_path


def test_event_names_with_spaces_are_served_over_http_and_websocket(tmp_path: Path) -> None:
    root = project(tmp_path, '  "goto s1": {}\n  "goto s2": {}\n  "goto final": {}\n')
    with serve(root) as server:
        token = server.token("simple", "one", "client:alice")
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(f"{server.url}/api/simple/one", headers=auth, json={"type": "goto s2"})
        assert r.status_code == 200, r.text
        # s2 moves on to s3 by itself
        assert httpx.get(f"{server.url}/api/simple/one", headers=auth).json()[
            "snapshot"]["value"] == "s3"
        r = httpx.post(f"{server.url}/api/simple/one", headers=auth, json={"type": "goto s2 "})
        assert r.status_code == 400
        assert "send 'goto s2'" in r.json()["error"]

        async def over_websocket() -> list[dict[str, object]]:
            url = f"{server.ws}/api/simple/one?accessToken={token}"
            async with websockets.connect(url) as ws:
                await asyncio.wait_for(ws.recv(), 5)  # the view as it is
                await ws.send(json.dumps({"type": "goto s1"}))
                return list(json.loads(await asyncio.wait_for(ws.recv(), 5))["operations"])

        assert {"op": "replace", "path": "/value", "value": "s1"} in asyncio.run(over_websocket())
        assert httpx.get(f"{server.url}/api/simple/one", headers=auth).json()[
            "snapshot"]["value"] == "s1"


@pytest.mark.parametrize("name", ["''", "' goto s1'", "'goto s1 '", '"goto\\ns1"', '"goto\\ts1"'])
def test_an_event_name_that_cannot_work_is_refused_with_what_a_name_may_be(
        tmp_path: Path, name: str) -> None:
    root = project(tmp_path, f"  {name}: {{}}\n")

    found = inspect_chart(root / "charts" / "simple.yaml")

    assert found.chart is None
    [problem] = [d for d in found.diagnostics if d.code == "AK105"]
    assert (Path(problem.path).name, problem.line, problem.column) == ("simple.yaml", 2, 3)
    assert "does not start or end with a space" in problem.message
    assert "`goto s2` and ADD_TODO are fine" in problem.message
