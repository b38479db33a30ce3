"""The actor routes in the OpenAPI document (``/openapi.json``, shown at ``/docs``).

The actor endpoints are bare ASGI apps, outside FastAPI's validation, because that machinery
costs more than running the event (see :mod:`actorkit.server.router`); so FastAPI cannot
describe them. :func:`describe` writes their description from the charts instead, once,
when the document is first asked for: nothing of it is on a request's path. Each served
actor type gets its own paths, so that its POST body is the ``oneOf`` of its own events.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from ..chart import Chart
from ..ids import MAX_ACTOR_ID_BYTES
from ..schemas import Validator

__all__ = ["describe"]

#: The security scheme every actor route takes: Actor Kit's access token.
SECURITY = "accessToken"

_ERROR_STATUSES = {
    "400": "A bad event, input or query parameter, an actor id that is not allowed",
    "401": "A missing, invalid or expired access token, or one for another actor",
    "403": "A caller type that may not use this route (it is for services)",
    "408": "A wait that timed out (`errorOnWaitTimeout=false` answers 200 instead)",
    "409": "The actor cannot take the event as it is (a bound of its schema or its size "
           "limit); it is unchanged",
    "413": "A body over `ACTORKIT_MAX_BODY`",
    "500": "A step failed (a hook raised or overran its deadline, the context left its "
           "schema), or a stored actor cannot be brought back; the actor is unchanged",
    "503": "The store refused the commit (send it again), the actor is quarantined, or the "
           "server stopped before the request was done",
}


def describe(document: dict[str, Any], charts: Mapping[str, Chart], *,
             prefix: str = "/api") -> dict[str, Any]:
    """Add the actor routes of ``charts``, served under ``prefix``, to ``document`` (the
    OpenAPI document FastAPI made, e.g. ``app.openapi()``), in place; return it. Each
    chart's routes are tagged with its actor type; the WebSocket route, which OpenAPI
    cannot describe, is in the document's description."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_shared())
    components.setdefault("securitySchemes", {})[SECURITY] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An Actor Kit access token for one actor (`actorkit token --type T "
                       "--id ID --caller client:alice`): HS256, `jti` the actor id, `aud` "
                       "the actor type, `sub` `{caller_type}-{caller_id}`.",
    }
    info = document.setdefault("info", {})
    info["description"] = ((info.get("description") or "") + "\n\n" +
                           _websocket_note(prefix)).strip()
    paths = document.setdefault("paths", {})
    tags = document.setdefault("tags", [])
    for actor_type, chart in sorted(charts.items()):
        schemas.update(_chart_schemas(actor_type, chart))
        base = f"{prefix}/{actor_type}/{{actor_id}}"
        paths[base] = _actor_path(actor_type, chart)
        paths[base + "/events"] = _journal_path(actor_type)
        paths[base + "/quarantine"] = _quarantine_path(actor_type)
        tags.append({"name": actor_type, "description": chart.description or
                     f"Actors of the chart {actor_type!r}"})
    return document


def _websocket_note(prefix: str) -> str:
    return (f"Every actor route is `{prefix}/{{actor_type}}/{{actor_id}}[/...]` with an "
            f"`Authorization: Bearer <token>` header. Not listed below, since OpenAPI cannot "
            f"describe it: the WebSocket `{prefix}/{{actor_type}}/{{actor_id}}?accessToken="
            f"<token>&checksum=<last seen>` sends frames `{{\"operations\": [<RFC 6902 JSON "
            f"Patch>], \"checksum\"}}` that keep the caller's view current, and takes bare "
            f"events (the POST bodies below) as text frames; a bad one is answered with a "
            f"frame that has an `error`.")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: _json(_ref("ActorError"), _ERROR_STATUSES[s]) for s in statuses}


def _id_parameter() -> dict[str, Any]:
    return {"name": "actor_id", "in": "path", "required": True,
            "description": f"The actor's id: 1 to {MAX_ACTOR_ID_BYTES} bytes of UTF-8, no control "
                           f"characters and no `/` (percent-encoded as encodeURIComponent "
                           f"does); the token's `jti`.",
            "schema": {"type": "string", "minLength": 1}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def _json_query(name: str, description: str) -> dict[str, Any]:
    return _query(name, description + " (JSON, URL-encoded)", {"type": "string"})


def _input_parameter() -> dict[str, Any]:
    return _json_query("input", "The spawn input of an actor this request creates, checked "
                                "against the chart's input schema; ignored once it exists")


def _operation(actor_type: str, summary: str, operation_id: str, parameters: list[Any],
               responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"tags": [actor_type], "summary": summary,
            "operationId": f"{operation_id}_{actor_type.replace('-', '_')}",
            "security": [{SECURITY: []}], "parameters": parameters, "responses": responses,
            **more}


def _actor_path(actor_type: str, chart: Chart) -> dict[str, Any]:
    view = _ref(f"{actor_type}.view")
    get = _operation(
        actor_type, "The caller's view of the actor (spawned on first touch)", "get_actor",
        [_id_parameter(), _input_parameter(),
         _json_query("waitForState", "Answer when the actor is in this XState state value, "
                                     "e.g. \"ready\" or {\"loaded\": \"success\"}"),
         _json_query("waitForEvent", "Answer after an event of this type (with these fields, "
                                     "for the caller's own events) is committed, e.g. "
                                     "{\"type\": \"ADD_TODO\"}"),
         _query("timeout", "Milliseconds a wait may take (default 5000, at most "
                           "ACTORKIT_MAX_WAIT)", {"type": "integer", "minimum": 1}),
         _query("errorOnWaitTimeout", "false: a wait that times out answers 200 with the "
                                      "current view instead of 408",
                {"type": "string", "enum": ["true", "false"], "default": "true"})],
        {"200": _json({"type": "object", "required": ["snapshot", "checksum"],
                       "properties": {"snapshot": view, "checksum": _ref("Checksum")}},
                      "The caller's view and its checksum"),
         **_errors("400", "401", "408", "500", "503")})
    post = _operation(
        actor_type, "Send an event; answered once it is committed", "send_event",
        [_id_parameter(), _input_parameter()],
        {"200": _json(_ref("EventAnswer"), "The event ran (`handled` false: no transition "
                                           "took it, and it changed nothing)"),
         **_errors("400", "401", "409", "413", "500", "503")},
        requestBody={"required": True, "description": "The event: client events with a "
                                                      "client token, service events with a "
                                                      "service token",
                     "content": {"application/json": {"schema": _ref(f"{actor_type}.event")}}})
    return {"get": get, "post": post}


def _journal_path(actor_type: str) -> dict[str, Any]:
    return {"get": _operation(
        actor_type, "The actor's journal, oldest first (service tokens only)", "journal",
        [_id_parameter(),
         _query("after", "Entries after this sequence number (-1: from the start)",
                {"type": "integer", "minimum": -1, "default": -1}),
         _query("limit", "Entries at most on the page (fewer when ACTORKIT_JOURNAL_PAGE bytes "
                         "are reached first)",
                {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})],
        {"200": _json({"type": "object", "required": ["events", "next"], "properties": {
            "events": {"type": "array", "items": _ref("JournalEntry")},
            "next": {"type": ["integer", "null"],
                     "description": "The `after` of the next page; null when there was "
                                    "nothing after `after`"}}}, "A page of the journal"),
         **_errors("400", "401", "403", "500", "503")})}


def _quarantine_path(actor_type: str) -> dict[str, Any]:
    status = {"type": "object", "required": ["quarantined"], "properties": {
        "quarantined": {"type": "boolean"}, "since": {"type": "number"},
        "reason": {"type": "string"}, "seq": {"type": "integer"}}}
    return {
        "get": _operation(actor_type, "Whether the actor is quarantined, and why (service "
                                      "tokens only)", "quarantine_status", [_id_parameter()],
                          {"200": _json(status, "`since` and `reason` when quarantined"),
                           **_errors("400", "401", "403", "503")}),
        "delete": _operation(actor_type, "Lift the actor's quarantine (service tokens only)",
                             "lift_quarantine", [_id_parameter()],
                             {"200": _json(status, "Lifted: `quarantined` false and the "
                                                   "step of the release, `seq`"),
                              "409": _json(_ref("ActorError"), "It was not quarantined"),
                              **_errors("400", "401", "403", "503")}),
    }


def _chart_schemas(actor_type: str, chart: Chart) -> dict[str, Any]:
    """The schemas of one chart, named ``{actor_type}.{name}``: its definitions, its view
    and its events (a ``oneOf`` by ``type``)."""
    schemas = chart.schemas
    out: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    events: dict[str, list[tuple[str, Any]]] = {}
    for caller_type in ("client", "service"):
        for name, validator in sorted(schemas.events_for(caller_type).items()):
            events.setdefault(name, []).append((caller_type, validator.schema))
    parts = [v.schema for v in (schemas.public, schemas.private) if v is not None]
    for schema in [*parts, *(s for found in events.values() for _, s in found)]:
        if isinstance(schema, dict):
            definitions.update(schema.get("definitions") or {})
    for name, schema in definitions.items():
        out[_definition(actor_type, name)] = _openapi_schema(actor_type, schema)
    view: dict[str, Any] = {}
    parts_by_name: list[tuple[str, Validator | None]] = [("public", schemas.public),
                                                         ("private", schemas.private)]
    for part, found_schema in parts_by_name:
        view[part] = _openapi_schema(actor_type, found_schema.schema) \
            if found_schema is not None else {"type": "object"}
    view["private"] = {**view["private"], "description": "The caller's own private bucket"}
    view["value"] = {"description": "The active states as an XState state value",
                     "oneOf": [{"type": "string"}, {"type": "object"}]}
    out[f"{actor_type}.view"] = {"type": "object", "required": ["public", "private", "value"],
                                 "properties": view, "additionalProperties": False}
    choices = []
    for name, found in sorted(events.items()):
        who = " or ".join(caller for caller, _ in found)
        forms = [_event(actor_type, name, schema) for _, schema in found]
        if len(forms) == 2 and forms[0] == forms[1]:
            forms = forms[:1]
        choice = forms[0] if len(forms) == 1 else {"anyOf": forms}
        out[f"{actor_type}.{_component(name)}"] = {"title": name,
                                                   "description": f"Sent by a {who}", **choice}
        choices.append(_ref(f"{actor_type}.{_component(name)}"))
    out[f"{actor_type}.event"] = {"oneOf": choices} if choices else {
        "not": {}, "description": "This chart declares no client or service events"}
    return out


def _event(actor_type: str, name: str, schema: Any) -> dict[str, Any]:
    """An event on the wire: its payload schema with ``type`` added."""
    payload = _openapi_schema(actor_type, schema)
    if not isinstance(payload, dict):  # `true`: any payload
        payload = {}
    properties = {"type": {"const": name}, **(payload.get("properties") or {})}
    required = ["type", *(payload.get("required") or [])]
    return {**payload, "type": "object", "properties": properties, "required": required}


def _openapi_schema(actor_type: str, schema: Any) -> Any:
    """``schema`` without its embedded ``definitions``, its ``$ref``\\ s to them pointing at
    the document's components."""
    if isinstance(schema, dict):
        schema = {k: v for k, v in schema.items() if k != "definitions"}
    return _rewrite(actor_type, copy.deepcopy(schema))


def _rewrite(actor_type: str, node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            node["$ref"] = f"#/components/schemas/" \
                           f"{_definition(actor_type, ref[len('#/definitions/'):])}"
        for key, value in node.items():
            if key != "$ref":
                node[key] = _rewrite(actor_type, value)
    elif isinstance(node, list):
        return [_rewrite(actor_type, item) for item in node]
    return node


def _component(name: str) -> str:
    """``name`` as a component name may be written (letters, digits, ``.``, ``-``, ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _definition(actor_type: str, name: str) -> str:
    return f"{actor_type}.definitions.{_component(name)}"


def _shared() -> dict[str, Any]:
    caller = {"type": "object", "required": ["type", "id"], "properties": {
        "type": {"enum": ["client", "service", "actor", "system"]}, "id": {"type": "string"}}}
    return {
        "Checksum": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                     "description": "SHA-256 of the view's canonical JSON"},
        "Caller": caller,
        "EventAnswer": {"type": "object",
                        "required": ["success", "handled", "seq", "checksum", "outputs"],
                        "properties": {
                            "success": {"const": True},
                            "handled": {"type": "boolean", "description":
                                        "false: no transition took the event (none for it "
                                        "in the active states, or every guard false); it "
                                        "changed nothing and was not journaled"},
                            "seq": {"type": "integer",
                                    "description": "The actor's last committed step"},
                            "checksum": _ref("Checksum"),
                            "outputs": {"type": "array", "items": {"type": "object"},
                                        "description": "Events the step emitted"}}},
        "JournalEntry": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "time": {"type": "number"},
            "kind": {"enum": ["spawn", "event", "system", "timer", "migrate", "quarantine",
                              "release", "message"]},
            "caller": _ref("Caller"), "type": {"type": ["string", "null"]},
            "data": {"type": ["object", "null"]}, "error": {"type": ["string", "null"]}}},
        "ActorError": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string", "description": "What went wrong and what to do"},
            "kind": {"type": "string", "description": "The error's class, for a failed step"},
            "type": {"type": ["string", "null"], "description": "The event's type"},
            "pointer": {"type": ["string", "null"],
                        "description": "JSON pointer of the bad field"},
            "ref": {"type": "string", "description": "The reference of the server's log "
                                                     "line about a failed step"},
            "hook": {"type": "string"}}},
    }
