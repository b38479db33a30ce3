"""Property: an actor snapshotted and restored (into a fresh actor of a re-parsed chart) at any
points of any run never differs from the same actor run without interruption.

Each example drives two actors with the same random valid events from several callers and the
same clock advances; one of them is replaced by ``Actor.restore(load_chart(...), snapshot)``
whenever the script says so. After every operation both must have the same snapshot bytes, the
same view for every caller, and the same results (outputs, timer steps, errors).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from support import ROOT, FakeClock

from actorkit import Actor, ActorkitError, Caller, load_chart

CLIENTS = [Caller.client(n) for n in ("alice", "bob", "carol")]
SERVICE = Caller.service("sync")
CALLERS = [*CLIENTS, SERVICE]

EventFn = Callable[[st.DataObject, Actor], tuple[Caller, dict[str, Any]]]


def outcome(method: Callable[..., Any], *args: Any) -> Any:
    """What a user can observe of one call: its result or its error."""
    try:
        result = method(*args)
    except ActorkitError as e:
        return ("error", type(e).__name__, str(e))
    if result is None:
        return None
    results = result if isinstance(result, list) else [result]
    return [(r.seq, r.type, r.caller, r.time, r.outputs,
             [(t.seq, t.type, t.time, t.outputs, repr(t.error)) for t in r.timers],
             repr(r.error)) for r in results]


def check_same(a: Actor, b: Actor) -> None:
    assert b.snapshot_json() == a.snapshot_json()
    for caller in CALLERS:
        assert b.view(caller) == a.view(caller)


@cache
def parsed(chart_file: str) -> tuple[Any, ...]:
    """Three separately parsed copies of a chart (own statechart, hooks module, schemas):
    restores rotate through them, so each restore lands in a chart the snapshot never saw."""
    return tuple(load_chart(ROOT / chart_file) for _ in range(3))


def run_twice(data: st.DataObject, chart_file: str, events: EventFn, *, steps: int,
              input: Any = None) -> None:
    charts = parsed(chart_file)
    clock = FakeClock()
    owner = data.draw(st.sampled_from(CALLERS), label="owner")
    a = Actor.spawn(charts[0], "x", caller=owner, input=input, clock=clock)
    b = Actor.spawn(charts[0], "x", caller=owner, input=input, clock=clock)
    restores = 0
    for _ in range(steps):
        op = data.draw(st.sampled_from(["send"] * 6 + ["wait", "restore", "connect"]), label="op")
        if op == "restore":
            restores += 1
            b = Actor.restore(charts[restores % 3], b.snapshot_json(), clock=clock)
        elif op == "wait":
            clock.t += data.draw(st.sampled_from([0.5, 1, 3, 5, 10, 45, 300]), label="wait")
            assert outcome(b.advance) == outcome(a.advance)
        elif op == "connect":
            who = data.draw(st.sampled_from(CLIENTS), label="who")
            how = data.draw(st.sampled_from(["connect", "disconnect"]), label="how")
            assert outcome(getattr(b, how), who) == outcome(getattr(a, how), who)
        else:
            caller, event = events(data, a)
            assert outcome(b.send, event, caller) == outcome(a.send, event, caller)
        check_same(a, b)


# -- todo ----------------------------------------------------------------------------------------

TEXT = st.text(min_size=0, max_size=12)


def todo_events(data: st.DataObject, actor: Actor) -> tuple[Caller, dict[str, Any]]:
    ids = [t["id"] for t in actor.view(SERVICE)["public"]["todos"]]
    some_id = st.sampled_from(ids) if ids and data.draw(st.booleans()) else st.text(max_size=8)
    kind = data.draw(st.sampled_from(
        ["ADD_TODO", "ADD_TODO", "TOGGLE_TODO", "REMOVE_TODO", "SET_FILTER", "SYNC_TODOS"]))
    if kind == "SYNC_TODOS":
        todos = data.draw(st.lists(st.fixed_dictionaries({
            "id": st.text(min_size=1, max_size=6), "text": st.text(min_size=1, max_size=8),
            "completed": st.booleans()}), max_size=3))
        return SERVICE, {"type": kind, "todos": todos}
    caller = data.draw(st.sampled_from(CLIENTS))
    if kind == "ADD_TODO":
        return caller, {"type": kind, "text": data.draw(TEXT)}  # "" is invalid: rejected alike
    if kind == "SET_FILTER":
        return caller, {"type": kind, "filter": data.draw(
            st.sampled_from(["all", "active", "completed"]))}
    return caller, {"type": kind, "id": data.draw(some_id)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_todo_restored_runs_never_differ(data: st.DataObject) -> None:
    run_twice(data, "charts/todo.yaml", todo_events, steps=40)


# -- auction -------------------------------------------------------------------------------------

AUCTION_INPUT = {"title": "Brass lamp", "startingPrice": 100, "increment": 10,
                 "reservePrice": 150, "durationSeconds": 60, "sellerId": "carol",
                 "goingSeconds": 5, "antiSnipeSeconds": 10}


def auction_events(data: st.DataObject, actor: Actor) -> tuple[Caller, dict[str, Any]]:
    minimum = actor.view(SERVICE)["public"]["minimumBid"]
    kind = data.draw(st.sampled_from(
        ["PLACE_BID"] * 6 + ["SET_MAX_BID"] * 3 + ["OPEN"] * 2 + ["PAUSE", "RESUME_AUCTION",
                                                                  "CANCEL"]))
    if kind in ("PLACE_BID", "SET_MAX_BID"):
        amount = data.draw(st.sampled_from([minimum - 10, minimum, minimum + 10, minimum + 55]))
        return data.draw(st.sampled_from(CLIENTS)), {"type": kind, "amount": max(1, amount)}
    if kind in ("CANCEL", "PAUSE") and data.draw(st.integers(0, 2)):
        kind = "RESUME_AUCTION"  # keep most runs live long enough to reach the calls
    # OPEN is service-only; the others come from the seller (carol), a bidder or the service
    caller = SERVICE if kind == "OPEN" else data.draw(st.sampled_from(CALLERS))
    return caller, {"type": kind}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_auction_restored_runs_never_differ(data: st.DataObject) -> None:
    run_twice(data, "charts/auction.yaml", auction_events, steps=50, input=AUCTION_INPUT)
