"""The OpenAPI document (``/openapi.json``, shown at ``/docs``) of a real server lists every
actor route with its methods, parameters, bodies and answers, and each chart's events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from servers import Server, serve
from support import ROOT

from actorkit.lint import load_charts


@pytest.fixture(scope="module")
def server():
    with serve(ROOT) as running:
        yield running


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/openapi.json")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


#: path (under /api/{type}) -> method -> the parameters it takes besides actor_id
ROUTES = {
    "/{actor_id}": {"get": {"input", "waitForState", "waitForEvent", "timeout",
                            "errorOnWaitTimeout"},
                    "post": {"input"}},
    "/{actor_id}/events": {"get": {"after", "limit"}},
    "/{actor_id}/quarantine": {"get": set(), "delete": set()},
}


def test_docs_page_is_served_from_the_document(server: Server):
    page = httpx.get(f"{server.url}/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text


def test_every_actor_route_of_every_chart_is_listed(document):
    charts = load_charts([ROOT / "charts"])
    assert set(charts) == {"todo", "auction", "checkout", "lobby", "room"}
    for actor_type in charts:
        for tail, methods in ROUTES.items():
            path = document["paths"].get(f"/api/{actor_type}{tail}")
            assert path is not None, f"/api/{actor_type}{tail} is not in the document"
            assert set(path) == set(methods)
            for method, names in methods.items():
                operation = path[method]
                params = {(p["name"], p["in"]) for p in operation["parameters"]}
                assert params == {("actor_id", "path")} | {(n, "query") for n in names}
                assert operation["security"] == [{"accessToken": []}]
                assert operation["tags"] == [actor_type]
                assert "200" in operation["responses"] and "401" in operation["responses"]
    scheme = document["components"]["securitySchemes"]["accessToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "WebSocket" in document["info"]["description"]
    assert "accessToken=" in document["info"]["description"]


def test_each_charts_post_body_is_the_oneof_of_its_events(document):
    for actor_type in ("todo", "auction"):
        chart = load_charts([ROOT / "charts"])[actor_type]
        body = document["paths"][f"/api/{actor_type}/{{actor_id}}"]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
        listed = {resolve(document, choice["$ref"])["title"]
                  for choice in resolve(document, ref)["oneOf"]}
        declared = set(chart.schemas.client) | set(chart.schemas.service)
        assert listed == declared and declared


def test_the_event_schemas_accept_the_events_the_server_accepts(document):
    def valid(event: dict[str, Any]) -> bool:
        schema = {**document, "$ref": "#/components/schemas/todo.event"}
        return Draft202012Validator(schema).is_valid(event)

    todo = {"id": "a", "text": "milk", "completed": False}
    assert valid({"type": "ADD_TODO", "text": "milk"})
    assert valid({"type": "SYNC_TODOS", "todos": [todo]})  # through a shared definition
    assert not valid({"type": "SYNC_TODOS", "todos": [{"id": "a"}]})
    assert not valid({"type": "ADD_TODO"})
    assert not valid({"type": "ADD_TODO", "text": "milk", "extra": 1})
    assert not valid({"type": "NO_SUCH_EVENT"})


def test_every_reference_in_the_document_resolves(document):
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                resolve(document, node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node
