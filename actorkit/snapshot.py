"""Snapshots: an actor's committed state as canonical JSON, and the parts of a sismic
interpreter it must carry (sismic keeps them in private attributes, so this module is the one
place that knows them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sismic.model import Event, InternalEvent

from .chart import Chart
from .engine import ActorInterpreter
from .errors import SnapshotError
from .events import ActorEvent, ActorInternalEvent, Caller
from .hooks import frozen_context

__all__ = ["FORMAT", "apply", "canonical", "capture", "check_fits", "dump", "join",
           "mark_quarantine", "parse"]

#: The snapshot format this actorkit writes and reads.
FORMAT = 1


def dump(snap: dict[str, Any]) -> bytes:
    """Canonical JSON of a snapshot (sorted keys), in a bytes object of its own size: orjson's
    own result keeps its whole growth buffer (8 KB for a 600-byte snapshot), and actors keep
    this one."""
    return bytes(memoryview(orjson.dumps(snap, option=orjson.OPT_SORT_KEYS)))


def mark_quarantine(snap: dict[str, Any], reason: str | None, now: float) -> None:
    """Put the snapshot ``snap`` (of any chart version) in quarantine at ``now`` for
    ``reason``, or (``None``) lift its quarantine: a step of its own, so its sequence number
    is one more."""
    snap["seq"] = int(snap["seq"]) + 1
    snap["time"] = max(float(snap["time"]), now)
    if reason is None:
        snap.pop("quarantine", None)
    else:
        snap["quarantine"] = {"since": snap["time"], "reason": reason}


def canonical(value: Any) -> bytes:
    """Canonical JSON (sorted keys, compact) of a part of the state, in its own bytes."""
    return bytes(memoryview(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)))


def join(parts: Mapping[str, bytes]) -> bytes:
    """The canonical JSON of an object whose values are already canonical JSON."""
    return canonical({k: orjson.Fragment(v) for k, v in parts.items()})


def capture(chart: Chart, interp: ActorInterpreter, *, copy: bool = False) -> dict[str, Any]:
    """The interpreter's state: configuration, history memory, entry and idle times, delayed
    events, and (with contracts) the ``__old__`` values, keyed by state or transition;
    ``copy``: the times copied, not the interpreter's own dicts."""
    out: dict[str, Any] = {
        "configuration": sorted(interp._configuration),
        "memory": {k: sorted(v) for k, v in interp._memory.items() if v is not None},
        "entered": dict(interp._entry_time) if copy else interp._entry_time,
        "idle": dict(interp._idle_time) if copy else interp._idle_time,
        "queue": [_queued(due, e) for due, e in
                  (*interp._internal_queue, *interp._external_queue)],
    }
    if chart.semantics != "sismic":
        # A snapshot runs on only under the semantics it was taken with (sismic's, the
        # default, is not written, so its snapshots stay as they were).
        out["semantics"] = chart.semantics
    memory = interp._evaluator._memory
    if chart.contracts and memory:
        keys = _contract_keys(chart)
        out["old"] = {keys[k]: dict(v.__getstate__()) for k, v in memory.items() if k in keys}
    return out


def apply(chart: Chart, interp: ActorInterpreter, snap: Mapping[str, Any]) -> None:
    """Put what :func:`capture` took (and the snapshot's ``time``) back into ``interp``."""
    interp._initialized = True
    interp._configuration = set(snap["configuration"])
    interp._memory = {k: list(v) for k, v in snap["memory"].items()}
    interp._time = float(snap["time"])
    interp._entry_time = {k: float(v) for k, v in snap["entered"].items()}
    interp._idle_time = {k: float(v) for k, v in snap["idle"].items()}
    internal: list[tuple[float, Event]] = []
    external: list[tuple[float, Event]] = []
    for item in snap["queue"]:
        event = _unqueued(item)
        (internal if isinstance(event, InternalEvent) else external).append(
            (float(item["due"]), event))
    interp._internal_queue, interp._external_queue = internal, external
    old = snap.get("old") or {}
    by_key = {v: k for k, v in _contract_keys(chart).items()} if old else {}
    interp._evaluator._memory = {by_key[k]: frozen_context(v) for k, v in old.items()
                                  if k in by_key}


def parse(snapshot: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(snapshot, str | bytes):
        try:
            snapshot = orjson.loads(snapshot)
        except orjson.JSONDecodeError as e:
            raise SnapshotError(f"snapshot is not valid JSON: {e}") from e
    if not isinstance(snapshot, Mapping):
        raise SnapshotError("a snapshot is the JSON object Actor.snapshot() returned")
    return orjson.loads(orjson.dumps(snapshot))  # type: ignore[no-any-return]


def check_fits(chart: Chart, snap: dict[str, Any]) -> None:
    if snap.get("format") != FORMAT:
        raise SnapshotError(f"unknown snapshot format {snap.get('format')!r}; this actorkit "
                            f"reads format {FORMAT}")
    actor = snap.get("actor") or {}
    if actor.get("type") != chart.actor_type:
        raise SnapshotError(f"snapshot is of a {actor.get('type')!r} actor, but the chart is "
                            f"{chart.actor_type!r}: restore it with its own chart")
    if actor.get("version") != chart.version:
        raise SnapshotError(f"snapshot was taken with version {actor.get('version')} of chart "
                            f"{chart.actor_type!r}, which is now version {chart.version}: "
                            f"migrate the snapshot first")
    semantics = snap.get("semantics", "sismic")
    if semantics != chart.semantics:
        raise SnapshotError(f"snapshot was taken under `semantics: {semantics}`, but chart "
                            f"{chart.actor_type!r} now runs `semantics: {chart.semantics}`, "
                            f"where it could continue differently: restore it with the chart "
                            f"it was taken with, or bump the chart's version so that the "
                            f"snapshot is migrated")
    states = set(chart.statechart.states)
    unknown = sorted({*snap.get("configuration", []), *snap.get("memory", {})} - states)
    for names in (snap.get("memory") or {}).values():
        unknown += sorted(set(names) - states)
    if unknown:
        raise SnapshotError(f"snapshot has state {unknown[0]!r}, which chart "
                            f"{chart.actor_type!r} does not have (renamed or removed?): bump "
                            f"the chart's version and migrate")


def _queued(due: float, event: Event) -> dict[str, Any]:
    item: dict[str, Any] = {"due": due, "internal": isinstance(event, InternalEvent),
                            "type": event.name, "data": event.data}
    caller = getattr(event, "caller", None)
    if isinstance(caller, Caller):
        item["caller"] = caller.to_json()
    return item


def _unqueued(item: dict[str, Any]) -> Event:
    data = dict(item["data"])
    if "caller" in item:
        cls = ActorInternalEvent if item["internal"] else ActorEvent
        return cls(item["type"], data, Caller.from_json(item["caller"]))
    event = (InternalEvent if item["internal"] else Event).__new__(
        InternalEvent if item["internal"] else Event)
    event.name, event.data = item["type"], data
    return event


def _contract_keys(chart: Chart) -> dict[int, str]:
    """Stable names for the states and transitions sismic keys its ``__old__`` memory by."""
    sc = chart.statechart
    keys = {id(sc.state_for(name)): f"state:{name}" for name in sc.states}
    keys.update({id(t): f"transition:{i}" for i, t in enumerate(sc.transitions)})
    return keys
