"""Migrations: a snapshot taken with an older version of a chart, brought to the current one.

In order: the hooks module's ``migrate(snapshot, from_version, to_version)`` (if it has one)
may rewrite the snapshot; context keys the new chart adds get their defaults (in ``public``,
in each private bucket, and internal keys); active states that no longer exist give way to
their region's initial state; history memory and timings of removed states are dropped. The
result must fit the new chart's schemas. A snapshot that cannot be migrated raises
:class:`~actorkit.SnapshotError` and is never changed: the caller keeps the stored one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import orjson
from sismic.model import CompoundState, DeepHistoryState, OrthogonalState, ShallowHistoryState

from . import deadline
from .chart import Chart
from .errors import DeadlineError, SnapshotError
from .hooks import _hook_location

__all__ = ["migrate_snapshot"]


def migrate_snapshot(chart: Chart, snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """``snapshot`` migrated to ``chart``'s version (a new dict; ``snapshot`` is untouched).
    The migration is a step: its sequence number is one more than the snapshot's."""
    snap: dict[str, Any] = orjson.loads(orjson.dumps(snapshot))
    name = f"{chart.actor_type}/{snap.get('actor', {}).get('id')}"
    try:
        old = int(snap["actor"]["version"])
    except (KeyError, TypeError, ValueError):
        raise SnapshotError(f"snapshot of {name} has no chart version: it cannot be "
                            f"migrated") from None
    new = chart.version
    if old == new:
        return snap
    if old > new:
        raise SnapshotError(f"snapshot of {name} was taken with version {old} of the chart, "
                            f"newer than this one ({new}): run the newer chart")
    hook = getattr(chart.hooks_module, "migrate", None)
    if hook is not None:
        try:
            result = deadline.chart_code(lambda: hook(snap, old, new), "migrate",
                                         "migrate hook", "the migrate hook")
        except DeadlineError:
            raise
        except Exception as e:
            raise SnapshotError(
                f"the migrate hook failed on {name} (version {old} to {new}): "
                f"{type(e).__name__}: {e}{_hook_location(e, chart.hooks_file)}; the stored "
                f"snapshot is kept as it was") from e
        if result is not None:
            if not isinstance(result, dict):
                raise SnapshotError(f"the migrate hook must return the snapshot (a dict) or "
                                    f"None, not {type(result).__name__}")
            snap = orjson.loads(orjson.dumps(result))
    # A new version may change the chart's semantics: the migrated snapshot runs on under
    # the new one (the default, sismic's, is not written).
    snap.pop("semantics", None)
    if chart.semantics != "sismic":
        snap["semantics"] = chart.semantics
    _add_defaults(chart, snap)
    _settle_states(chart, snap)
    snap["actor"]["version"] = new
    snap["seq"] = int(snap["seq"]) + 1
    _check_context(chart, snap, name, old)
    return snap


def _add_defaults(chart: Chart, snap: dict[str, Any]) -> None:
    context = snap.setdefault("context", {})
    defaults = chart.initial_context
    for key, value in defaults.items():
        if key == "private":
            continue
        if key not in context:
            context[key] = copy.deepcopy(value)
        elif key == "public" and isinstance(context[key], dict) and isinstance(value, dict):
            for k, v in value.items():
                context[key].setdefault(k, copy.deepcopy(v))
    bucket_defaults = defaults.get("private") or {}
    for bucket in (context.setdefault("private", {}) or {}).values():
        if isinstance(bucket, dict):
            for k, v in bucket_defaults.items():
                bucket.setdefault(k, copy.deepcopy(v))


def _settle_states(chart: Chart, snap: dict[str, Any]) -> None:
    sc = chart.statechart
    known = set(sc.states)
    final = snap.get("final")
    if final is not None and final not in known:
        snap["final"] = final = None  # the final state is gone: start over from the top
        snap["configuration"] = []
    entered: set[str] = set()
    if final is None:
        old = set(snap.get("configuration") or []) & known
        new: list[str] = []

        def enter(name: str) -> None:
            new.append(name)
            state = sc.state_for(name)
            children = sc.children_for(name)
            if isinstance(state, OrthogonalState):
                for child in children:
                    # a history state in a parallel state (scxml) is never active
                    if not isinstance(sc.state_for(child), DeepHistoryState | ShallowHistoryState):
                        enter(child)
            elif isinstance(state, CompoundState):
                active = [c for c in children if c in old]
                if active:
                    enter(active[0])
                else:
                    child = _default_child(chart, name)
                    if child is not None:
                        enter(child)

        root = sc.root
        if root is not None:
            enter(root)
        entered = set(new) - set(snap.get("configuration") or [])
        snap["configuration"] = sorted(new)
    # a done actor keeps its (empty) configuration, but loses what refers to removed states
    time = snap.get("time", 0.0)
    for key in ("entered", "idle"):
        times = {k: v for k, v in (snap.get(key) or {}).items() if k in known}
        for name in entered:
            times[name] = time
        snap[key] = times
    memory = {}
    for history, remembered in (snap.get("memory") or {}).items():
        kept = [s for s in remembered if s in known]
        if history in known and kept:
            memory[history] = kept
    snap["memory"] = memory
    # a ctx.schedule() timer goes with its state, as when the state is left
    active = set(snap.get("configuration") or [])
    snap["timers"] = [t for t in snap.get("timers") or []
                      if t.get("within") is None or t["within"] in active]
    snap.pop("old", None)  # contract __old__ values refer to the old chart's states
    value = final if final is not None else chart.value_of(snap["configuration"])
    snap["value"] = orjson.loads(orjson.dumps(value))  # the state value of the new states


def _default_child(chart: Chart, name: str) -> str | None:
    """The child compound state ``name`` enters by default: its ``initial`` (under
    ``scxml``, the child holding its first initial state, or else its first child)."""
    sc = chart.statechart
    if chart.semantics != "scxml":
        return sc.state_for(name).initial  # type: ignore[no-any-return]
    tree = sc.tree
    kids: tuple[str, ...] = tree.children[name]
    first = tree.initial[name][0] if tree.initial[name] else None
    return next((c for c in kids if first is not None and (
        c == first or tree.is_descendant(first, c))), kids[0] if kids else None)


def _check_context(chart: Chart, snap: dict[str, Any], name: str, old: int) -> None:
    context = snap["context"]
    fix = "add a `migrate(snapshot, from_version, to_version)` hook that rewrites it"
    if chart.schemas.public is not None:
        problem = chart.schemas.public.error(context.get("public"))
        if problem is not None:
            raise SnapshotError(f"migrating {name} from version {old}: context.public breaks "
                                f"the new `public` schema at {problem[1] or '/'}: {problem[0]}; "
                                f"{fix}")
    if chart.schemas.private is not None:
        for caller_id, bucket in (context.get("private") or {}).items():
            problem = chart.schemas.private.error(bucket)
            if problem is not None:
                raise SnapshotError(f"migrating {name} from version {old}: the private bucket "
                                    f"of {caller_id!r} breaks the new `private` schema at "
                                    f"{problem[1] or '/'}: {problem[0]}; {fix}")
