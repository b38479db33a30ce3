"""A chart as a graph: its states and transitions as plain JSON, for pictures of it.

:func:`graph` turns a loaded :class:`~actorkit.Chart` into a JSON-able dict that
``actorkit graph`` renders (Mermaid, Graphviz DOT) and the inspector page draws in the
browser. The model, ``format`` 1 (later versions only add keys)::

    {
      "format": 1,
      "actor": "todo",              # the chart's actor type
      "version": 1,                 # the chart's version
      "name": "todo",               # the statechart's name
      "description": null,          # the chart's description, or null
      "root": <state>,              # the root state, its descendants nested in it
      "transitions": [<transition>, ...]
    }

    <state> = {
      "name": "Live",               # unique in the chart (sismic's names are global)
      "kind": "compound",           # compound | parallel | final | shallow-history |
                                    # deep-history | basic
      "initial": "Bidding",         # compound: the child entered by default, else null
      "memory": null,               # history: the state remembered before any exit, else null
      "entry": "enter_live",        # the code run on entry (hook names, or sismic's inline
      "exit": null,                 #   Python; several hooks as one name a line), or null
      "line": 42,                   # the line of the state in the chart file
      "children": [<state>, ...]    # in the chart's order; a parallel state's children are
    }                               #   its regions

    <transition> = {
      "key": "Draft -> Live on OPEN#0",   # its key in a coverage file (see below)
      "source": "Draft",
      "index": 0,                   # its place among the source's transitions in the chart
      "target": "Live",             # null for an internal transition (no exit, no entry)
      "event": "OPEN",              # null for an eventless one
      "guard": null,                # the guard as written (a hook name or inline Python)
      "action": "open_auction",     # the action as written, several hooks one a line
      "priority": 0,                # sismic's priority (high 1, low -1)
      "kind": "event",              # event | eventless | timer | internal, see below
      "line": 48                    # the line of the transition in the chart file
    }

``kind`` says what sets a transition off: ``timer`` an eventless transition whose guard calls
``after()`` or ``idle()`` (time passing fires it); ``eventless`` any other transition
without an event (tried after every step); ``internal`` a transition with an event and no
target; ``event`` the rest. An eventless or timer transition may have no target as well:
``target`` null always means internal. ``transitions`` lists them in the chart's order:
state by state as the file has them, each state's in its own order.

A coverage file (``actorkit test --coverage FILE`` writes it, ``actorkit graph --coverage
FILE`` colours the picture with it) is JSON of this shape::

    {"charts": {"<actor type>": {
        "states": {"<state>": <times entered>},
        "transitions": {"<source> -> <target or source> on <event or ''>#<index in source>":
                        <times fired>}}}}

e.g. ``"Watched -> Watched on CONNECT#0"`` for an internal transition and ``"Hammer ->
Unsold on #1"`` for an eventless one. A state or transition whose count is 0, or that the
file does not name, was never reached.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .checks import ChartModel, StateInfo, TransitionInfo

if TYPE_CHECKING:
    from .chart import Chart

__all__ = ["FORMAT", "graph", "transition_key"]

#: The version of the model :func:`graph` returns; a new version only adds keys.
FORMAT = 1

_KINDS = {"atomic": "basic", "compound": "compound", "orthogonal": "parallel", "final": "final",
          "shallow history": "shallow-history", "deep history": "deep-history"}
# a call of sismic's after() or idle() in a guard: time passing makes it true
_TIMER = re.compile(r"\b(?:after|idle)\s*\(")


def transition_key(source: str, target: str | None, event: str | None, index: int) -> str:
    """The key of a transition in a coverage file: ``"<source> -> <target or source> on
    <event or ''>#<index in source>"``."""
    return f"{source} -> {source if target is None else target} on {event or ''}#{index}"


def graph(chart: Chart) -> dict[str, Any]:
    """The states and transitions of ``chart`` as a JSON-able dict (the model above)."""
    if chart.source is None:
        raise ValueError(f"the chart {chart.path} was not loaded from a file: load it with "
                         f"load_chart")
    source = chart.source
    model = ChartModel(source.data["statechart"])

    def state(info: StateInfo) -> dict[str, Any]:
        return {
            "name": info.name,
            "kind": _KINDS[info.kind],
            "initial": info.initial if info.kind == "compound" else None,
            "memory": info.memory if info.kind.endswith("history") else None,
            "entry": _code(info.raw.get("on entry")),
            "exit": _code(info.raw.get("on exit")),
            "line": source.at(info.path)[0],
            "children": [state(model.states[child]) for child in info.children],
        }

    def transition(t: TransitionInfo) -> dict[str, Any]:
        guard = _code(t.guard)
        return {
            "key": transition_key(t.source, t.target, t.event, t.index),
            "source": t.source,
            "index": t.index,
            "target": t.target,
            "event": t.event,
            "guard": guard,
            "action": _code(t.action),
            "priority": t.priority,
            "kind": _kind(t.event, t.target, guard),
            "line": source.at(t.path)[0],
        }

    return {
        "format": FORMAT,
        "actor": chart.actor_type,
        "version": chart.version,
        "name": str(source.data["statechart"]["name"]),
        "description": chart.description or source.data["statechart"].get("description"),
        "root": state(model.states[model.root]),
        "transitions": [transition(t) for t in model.transitions()],
    }


def _code(code: Any) -> str | None:
    """Code as the chart writes it: a hook list one name a line, inline Python stripped."""
    if code is None:
        return None
    if isinstance(code, list):
        return "\n".join(str(c) for c in code)
    return str(code).strip()


def _kind(event: str | None, target: str | None, guard: str | None) -> str:
    if event is None:
        return "timer" if guard is not None and _TIMER.search(guard) else "eventless"
    return "internal" if target is None else "event"
