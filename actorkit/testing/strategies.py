"""Hypothesis strategies for a chart: the events each kind of caller may send (and variants
its schemas refuse), spawn inputs, and callers from fixed pools. The values come from the
chart's JSON Schemas through :func:`~actorkit.testing.schemavalues.from_schema`.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
from hypothesis.strategies import SearchStrategy

from ..chart import Chart
from ..errors import EventRejected
from ..events import Caller
from ..schemas import CALLER_SECTIONS, SYSTEM_EVENTS
from .schemavalues import Builder, from_schema

__all__ = ["caller_pool", "callers", "client_pool", "events", "from_schema", "inputs",
           "invalid_events", "service_pool"]


# per chart, its strategies; they must not refer to the chart, or it would never be collected
_CACHE: weakref.WeakKeyDictionary[Chart, dict[tuple[str, ...], SearchStrategy[Any]]] = \
    weakref.WeakKeyDictionary()


def _cached(chart: Chart, key: tuple[str, ...],
            make: Callable[[], SearchStrategy[Any]]) -> SearchStrategy[Any]:
    table = _CACHE.setdefault(chart, {})
    return table[key] if key in table else table.setdefault(key, make())


def _passes(check: Callable[[Any], object], value: Any) -> bool:
    """Whether ``check`` (an actorkit validation) takes ``value`` without EventRejected."""
    try:
        check(value)
    except EventRejected:
        return False
    return True


def events(chart: Chart, caller_type: str, event_type: str) -> SearchStrategy[dict[str, Any]]:
    """Valid events ``{"type": event_type, **payload}`` from a ``caller_type`` caller."""
    schemas = chart.schemas
    declared = schemas.events_for(caller_type)
    if event_type not in declared:
        raise ValueError(f"{event_type!r} is not an event {caller_type} callers may send "
                         f"(they may send: {', '.join(sorted(declared)) or 'nothing'})")

    def make() -> SearchStrategy[Any]:
        schema = declared[event_type].schema
        payload = Builder(schema).build({"type": "object"} if schema is True else schema)
        if payload is None:
            return st.nothing()
        accepts = functools.partial(schemas.validate_event, caller_type)
        return payload.filter(lambda p: isinstance(p, dict)).map(
            lambda p: {"type": event_type, **p}).filter(lambda e: _passes(accepts, e))
    return _cached(chart, ("events", caller_type, event_type), make)


def invalid_events(chart: Chart, caller_type: str) -> SearchStrategy[dict[str, Any]]:
    """Events the schemas refuse from a ``caller_type`` caller: a valid event with one thing
    broken (a required field dropped, a wrong type, an unknown field, a bound crossed), or
    with a type that caller may not send, no type, or a ``caller`` field."""
    schemas = chart.schemas
    own = schemas.events_for(caller_type)

    def make() -> SearchStrategy[Any]:
        valid = {name: events(chart, caller_type, name) for name in own}
        others = {name: events(chart, other, name) for other in CALLER_SECTIONS
                  if other != caller_type for name in schemas.events_for(other)
                  if name not in own}
        builders = {name: Builder(v.schema) for name, v in own.items()}
        rejects = functools.partial(schemas.validate_event, caller_type)

        @st.composite
        def invalid(draw: st.DrawFn) -> Any:
            etype = draw(st.sampled_from(sorted(own))) if own else "UNDECLARED"
            event = draw(valid[etype]) if own else {"type": etype}
            kind = draw(st.sampled_from(["payload"] * 4 + ["rename", "system", "no type",
                                                           "caller"] + ["other"] * bool(others)))
            if kind == "payload" and own and isinstance(broken := builders[etype].broken(
                    draw, own[etype].schema, event), dict):
                return broken  # the payload's schema: it does not know `type`, leaves it be
            if kind == "other":
                return draw(st.sampled_from(sorted(others)).flatmap(lambda n: others[n]))
            if kind in ("no type", "caller"):
                return {k: v for k, v in event.items() if k != "type"} if kind == "no type" \
                    else {**event, "caller": {"type": "client", "id": "mallory"}}
            names = SYSTEM_EVENTS if kind == "system" else [
                n for n in (etype.lower(), etype.upper(), f"{etype}_", f"NOT_{etype}",
                            "UNDECLARED") if n not in own]
            return {**event, "type": draw(st.sampled_from(sorted(names)))}
        return invalid().filter(lambda e: not _passes(rejects, e))
    return _cached(chart, ("invalid", caller_type), make)


def inputs(chart: Chart) -> SearchStrategy[dict[str, Any]]:
    """Spawn inputs the chart's input schema accepts."""
    schemas = chart.schemas

    def make() -> SearchStrategy[Any]:
        built = Builder(schemas.input.schema).build(schemas.input.schema)
        return st.nothing() if built is None else built.filter(
            lambda v: v is not None and _passes(schemas.validate_input, v))
    return _cached(chart, ("inputs",), make)


_CLIENTS = ("alice", "bob", "carol")


def client_pool(n: int = 3) -> list[Caller]:
    """``n`` client callers: alice, bob, carol, then client-4, client-5, ..."""
    return [Caller.client(_CLIENTS[i] if i < len(_CLIENTS) else f"client-{i + 1}")
            for i in range(n)]


def service_pool(n: int = 1) -> list[Caller]:
    """``n`` service callers: sync, then service-2, service-3, ..."""
    return [Caller.service("sync" if i == 0 else f"service-{i + 1}") for i in range(n)]


def caller_pool(clients: int = 3, services: int = 1) -> list[Caller]:
    """``client_pool(clients) + service_pool(services)``: the callers a test run takes."""
    return client_pool(clients) + service_pool(services)


def callers(clients: int = 3, services: int = 1) -> SearchStrategy[Caller]:
    """A caller from ``caller_pool(clients, services)``."""
    pool = caller_pool(clients, services)
    if not pool:
        raise ValueError("callers() needs at least one client or service")
    return st.sampled_from(pool)
