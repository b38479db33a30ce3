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

A chart under ``semantics: scxml`` adds four keys: each state's ``"initials"`` (every
state entered by default: its ``initial:`` list, or its first child when it names none; for
other states ``[]``) and ``"memories"`` (a history state's default states), and each
transition's ``"targets"`` (all of them, in the chart's order; ``target`` is the first) and
``"type"`` (``internal`` or ``external``, as the chart's ``type:`` says). ``initial`` is then
the first of ``initials``.

``kind`` says what sets a transition off: ``timer`` an eventless transition whose guard calls
``after()`` or ``idle()`` (time passing fires it); ``eventless`` any other transition
without an event (tried after every step); ``internal`` a transition with an event and no
target; ``event`` the rest. An eventless or timer transition may have no target as well:
``target`` null always means internal. ``transitions`` lists them in the chart's order:
state by state as the file has them, each state's in its own order.

A coverage file (``actorkit test --coverage FILE`` writes it, ``actorkit graph --coverage
FILE`` colours the picture with it; :mod:`actorkit.coverage` describes its format) counts
states by name and transitions by :func:`transition_key`, e.g. ``"Watched -> Watched on
CONNECT#0"`` for an internal transition and ``"Hammer -> Unsold on #1"`` for an eventless
one. A state or transition whose count is 0, or that the file does not name, was never
reached.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .checks import ChartModel, StateInfo, TransitionInfo
from .errors import GraphError

if TYPE_CHECKING:
    from .chart import Chart

__all__ = ["FORMAT", "LABEL_CODE", "active_states", "chart_coverage", "graph", "label",
           "to_dot", "to_mermaid", "to_svg", "transition_key"]

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
    scxml = chart.semantics == "scxml"
    model = ChartModel(source.data["statechart"], semantics=chart.semantics)

    def initials(info: StateInfo) -> list[str]:
        if info.kind != "compound":
            return []
        if info.initials or not scxml:
            return list(info.initials)
        # under scxml a compound state without initial: starts at its first child
        return [c for c in info.children if not model.states[c].kind.endswith("history")][:1]

    def state(info: StateInfo) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": info.name,
            "kind": _KINDS[info.kind],
            "initial": next(iter(initials(info)), None),
            "memory": info.memory if info.kind.endswith("history") else None,
            "entry": _code(info.raw.get("on entry")),
            "exit": _code(info.raw.get("on exit")),
            "line": source.at(info.path)[0],
            "children": [state(model.states[child]) for child in info.children],
        }
        if scxml:
            found["initials"] = initials(info)
            found["memories"] = list(info.memories) if info.kind.endswith("history") else []
        return found

    def transition(t: TransitionInfo) -> dict[str, Any]:
        guard = _code(t.guard)
        found: dict[str, Any] = {
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
        if scxml:
            found["targets"] = list(t.targets)
            found["type"] = "internal" if t.internal else "external"
        return found

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


# -- what to highlight -----------------------------------------------------------------------

def _tree(model: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Every state of ``model`` with its parent (``None`` for the root), parents first."""
    todo: list[tuple[dict[str, Any], dict[str, Any] | None]] = [(model["root"], None)]
    while todo:
        state, parent = todo.pop(0)
        yield state, parent
        todo.extend((child, state) for child in state["children"])


def _unknown(name: str, known: Collection[str], what: str) -> GraphError:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else \
        f"the chart's states are {', '.join(sorted(known))}"
    return GraphError(f"{what}: the chart has no state {name!r}: {hint}")


def active_states(model: Mapping[str, Any], given: str) -> set[str]:
    """The states to highlight, from ``given`` as ``--state`` takes it: the state value as the
    server shows it (JSON: ``{"Lot": {"Live": "Bidding"}, "Presence": "Empty"}`` or
    ``"Draft"``), or state names separated by commas (``Bidding,Empty``). The root and every
    ancestor of a named state are active too. Raises :class:`GraphError` for a name or a
    value that is not the chart's."""
    parents = {s["name"]: p for s, p in _tree(model)}
    root = model["root"]["name"]
    try:
        value = json.loads(given)
    except ValueError:
        value = None
    if isinstance(value, (str, dict)):
        names = _in_value(model["root"], value, given)
    else:
        names = [n.strip() for n in given.split(",") if n.strip()]
        if not names:
            raise GraphError("--state is empty: name the active states (e.g. --state "
                             f"{root}) or give the state value as GET /api/TYPE/ID shows it")
        for name in names:
            if name not in parents:
                raise _unknown(name, parents, f"--state {given}")
    active = {root}
    for name in names:
        at: str | None = name
        while at is not None:
            active.add(at)
            parent = parents[at]
            at = parent["name"] if parent is not None else None
    return active


def _in_value(state: dict[str, Any], value: Any, given: str) -> list[str]:
    """The states an XState state value names below ``state``."""
    children = {c["name"]: c for c in state["children"]}
    if isinstance(value, str):
        value = {value: {}}
    if not isinstance(value, dict):
        raise GraphError(f"--state {given}: {json.dumps(value)} is no state value: an object "
                         f"of states or a state's name was expected inside {state['name']!r}")
    names = []
    for name, inner in value.items():
        if name not in children:
            known = list(children) or [state["name"]]
            raise GraphError(f"--state {given}: {name!r} is not a state directly inside "
                             f"{state['name']!r} (its states: {', '.join(known)})")
        names.append(name)
        names.extend(_in_value(children[name], inner, given))
    return names


def chart_coverage(model: Mapping[str, Any], data: Any) -> dict[str, dict[str, int]]:
    """The counts a coverage file (the format above) has for ``model``'s chart, as
    ``{"states": {name: n}, "transitions": {key: n}}``. Raises :class:`GraphError` when the
    file is not of that format, has no counts for this chart, or names states or transitions
    the chart does not have (it was made for another version of the chart)."""
    actor = model["actor"]
    charts = data.get("charts") if isinstance(data, dict) else None
    if not isinstance(charts, dict):
        raise GraphError('the coverage file is not one: it should be a JSON object with '
                         '"charts" (actorkit test --coverage FILE writes one)')
    if actor not in charts:
        has = ", ".join(sorted(map(str, charts))) or "none"
        raise GraphError(f"the coverage file has no counts for the actor type {actor!r} (it "
                         f"has {has}): run actorkit test --coverage FILE on this chart")
    known = {"states": {s["name"] for s, _ in _tree(model)},
             "transitions": {t["key"] for t in model["transitions"]}}
    found: dict[str, dict[str, int]] = {}
    counts = charts[actor]
    for part in ("states", "transitions"):
        given = counts.get(part, {}) if isinstance(counts, dict) else None
        if not isinstance(given, dict) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0
                for n in given.values()):
            raise GraphError(f'the coverage file\'s "{part}" of {actor!r} should map names to '
                             f'counts (whole numbers from 0): make it again with actorkit '
                             f'test --coverage FILE')
        stale = sorted(set(given) - known[part])
        if stale:
            raise GraphError(f"the coverage file counts {part} the chart {actor!r} does not "
                             f"have ({', '.join(map(repr, stale[:3]))}): it was made for "
                             f"another version of the chart; make it again with actorkit test "
                             f"--coverage FILE")
        found[part] = dict(given)
    return found


# -- labels ----------------------------------------------------------------------------------

#: Characters of code a label keeps (guard and action each), so that an edge stays readable.
LABEL_CODE = 40


def _short(code: str) -> str:
    """Code on one line, cut to :data:`LABEL_CODE` characters: hook lists as ``a, b``,
    inline Python's lines joined by ``;``."""
    lines = [line.strip() for line in code.splitlines() if line.strip()]
    hooks = all(re.fullmatch(r"[A-Za-z_]\w*", line) for line in lines)
    text = (", " if hooks else "; ").join(lines)
    return text if len(text) <= LABEL_CODE else text[:LABEL_CODE - 1] + "…"


def label(transition: Mapping[str, Any]) -> str:
    """A transition's label, ``event [guard] / action``: an eventless one reads ``(eventless)
    [guard] / action`` and a timer ``(timer) [after(5)] / action``."""
    kind = transition["kind"]
    head = f"({kind})" if kind in ("timer", "eventless") else str(transition["event"])
    parts = [head]
    if transition["guard"] is not None:
        parts.append(f"[{_short(transition['guard'])}]")
    if transition["action"] is not None:
        parts.append(f"/ {_short(transition['action'])}")
    return " ".join(parts)


def _counted(text: str, key: str, coverage: Mapping[str, Mapping[str, int]] | None,
             part: str) -> str:
    if coverage is None:
        return text
    times = coverage[part].get(key, 0)
    return f"{text} · {times} time{'s' if times > 1 else ''}" if times else f"{text} · never"


class _Look:
    """What the highlights make of the picture: which states are active, which were reached."""

    def __init__(self, model: Mapping[str, Any], active: Collection[str],
                 coverage: Mapping[str, Mapping[str, int]] | None) -> None:
        self.model = model
        self.active = set(active)
        self.coverage = coverage
        self.parents = {s["name"]: p["name"] if p else None for s, p in _tree(model)}
        self.states = {s["name"]: s for s, _ in _tree(model)}

    def reached(self, part: str, key: str) -> bool | None:
        """Whether the coverage file counts it (``None`` without a coverage file)."""
        return None if self.coverage is None else self.coverage[part].get(key, 0) > 0

    def style(self, state: Mapping[str, Any]) -> str | None:
        """How a state is shown: active, reached, unreached, history or plain (``None``).
        A history state is never in a configuration: coverage says nothing of it."""
        if state["name"] in self.active:
            return "active"
        if state["kind"].endswith("history"):
            return "history"
        reached = self.reached("states", state["name"])
        return None if reached is None else "reached" if reached else "unreached"

    def ancestors(self, name: str) -> list[str]:
        out, at = [], self.parents[name]
        while at is not None:
            out.append(at)
            at = self.parents[at]
        return out

    def nested(self, source: str, target: str) -> bool:
        """Whether one end of a transition holds the other (or it loops on a state that
        holds others)."""
        if source == target:
            return bool(self.states[source]["children"])
        return target in self.ancestors(source) or source in self.ancestors(target)

    def internal(self, transition: Mapping[str, Any]) -> bool:
        return transition["target"] is None

    def stays(self, transition: Mapping[str, Any]) -> bool:
        """Whether a transition with targets leaves its source in place: under ``semantics:
        scxml``, ``type: internal`` from a compound state to states it holds."""
        source = transition["source"]
        return transition.get("type") == "internal" and self.states[source]["kind"] == \
            "compound" and all(source in self.ancestors(t) for t in _targets(transition))


def _targets(transition: Mapping[str, Any]) -> list[str]:
    """Every target of a transition (several only under ``semantics: scxml``)."""
    return list(transition.get("targets") or [transition["target"]])


def _initials(state: Mapping[str, Any]) -> list[str]:
    """Every state a state enters by default (several only under ``semantics: scxml``)."""
    if "initials" in state:
        return list(state["initials"])
    return [] if state["initial"] is None else [state["initial"]]


def _memories(state: Mapping[str, Any]) -> list[str]:
    """A history state's default states (several only under ``semantics: scxml``)."""
    if state.get("memories"):
        return list(state["memories"])
    return [] if state["memory"] is None else [state["memory"]]


# -- Mermaid ---------------------------------------------------------------------------------

_MERMAID_WORDS = {"state", "note", "end", "direction", "class", "classdef", "style", "as",
                  "click", "hide", "default", "left", "right", "of", "over", "accdescr",
                  "acctitle", "tb", "bt", "lr", "rl", "root"}
_MERMAID_STYLE = {
    "active": "fill:#ffd54f,stroke:#7a5c00,stroke-width:3px,font-weight:bold",
    "reached": "fill:#c8e6c9,stroke:#2e7d32",
    "unreached": "fill:#ffcdd2,stroke:#c62828,stroke-dasharray:4 3",
    # a state holding others is filled lighter: its own states stay readable on it
    "activeGroup": "fill:#fff8e1,stroke:#7a5c00,stroke-width:3px",
    "reachedGroup": "fill:#f1f8e9,stroke:#2e7d32",
    "unreachedGroup": "fill:#ffebee,stroke:#c62828,stroke-dasharray:4 3",
    "history": "fill:#eceff1,stroke:#607d8b,font-style:italic",
    "internal": "fill:#fffde7,stroke:#9e9e9e,stroke-dasharray:3 3,font-style:italic",
    "regions": "fill:none,stroke:#9e9e9e,stroke-dasharray:3 3",
}
# What Mermaid would read as syntax in a label, and a character that looks the same
_MERMAID_SAFE = str.maketrans({";": "\ufe54", "<": "\uff1c", ">": "\uff1e", '"': "\uff02",
                               "\\": "\u2216", "\n": " "})


def _mermaid_ids(model: Mapping[str, Any]) -> dict[str, str]:
    """A Mermaid id for every state: its name when Mermaid takes it as it is."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for state, _ in _tree(model):
        name = state["name"]
        plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) and name.lower() not in _MERMAID_WORDS
        base = name if plain else "s_" + re.sub(r"\W", "_", name)
        candidate, n = base, 1
        while candidate.lower() in taken or candidate.lower().endswith(("__internal",
                                                                         "__regions")):
            n += 1
            candidate = f"{base}_{n}"
        ids[name] = candidate
        taken.add(candidate.lower())
    return ids


def _mermaid_text(text: str) -> str:
    """``text`` as a Mermaid label shows it: the characters Mermaid would read as syntax
    (``;`` ends a statement, ``<`` opens HTML, ``[*]`` is a start) replaced by look-alikes,
    as Mermaid has no escape that works in every kind of label."""
    return text.translate(_MERMAID_SAFE).replace("[*]", "[\u204e]")


def to_mermaid(model: Mapping[str, Any], active: Collection[str] = (),
               coverage: Mapping[str, Mapping[str, int]] | None = None) -> str:
    """The chart as a Mermaid ``stateDiagram-v2``. ``active`` states are filled yellow;
    with ``coverage`` (see :func:`chart_coverage`) the states entered are green and those
    never entered red, and each transition's label ends with the times it fired (``· 3
    times`` or ``· never``). Internal transitions are listed inside their state, marked
    ``↺``, and so are those between a state and one it holds (``reset → p1``): Mermaid draws
    no arrow between them. A transition with several targets is an arrow to each, and the
    history states of a parallel state stand beside a box of its regions."""
    look = _Look(model, active, coverage)
    ids = _mermaid_ids(model)
    inside: dict[str, list[str]] = {}
    # the title is YAML: JSON's string is one
    out = ["---", f"title: {json.dumps(model['actor'])}", "---", "stateDiagram-v2"]
    # Mermaid puts a state where it is last named: the edges come first, so that the
    # nesting below has the last word on which state holds which.
    for t in model["transitions"]:
        text = _counted(label(t), t["key"], coverage, "transitions")
        if look.internal(t):
            inside.setdefault(t["source"], []).append(f"↺ {text}")
            continue
        # a transition with several targets is an arrow to each, each with its label
        for target in _targets(t):
            if look.nested(t["source"], target):
                # Mermaid cannot draw an arrow between a state and one it holds: it is listed
                inside.setdefault(t["source"], []).append(f"{text} → {target}")
            else:
                out.append(f"    {ids[t['source']]} --> {ids[target]} : {_mermaid_text(text)}")
    classes: dict[str, list[str]] = {}

    def line(depth: int, text: str) -> None:
        out.append("    " * depth + text)

    def listed(depth: int, sid: str, title: str, lines: list[str]) -> None:
        # a state's descriptions: the first is its title, the rest go below a rule
        for text in [title, *lines]:
            line(depth, f"{sid} : {_mermaid_text(text)}")

    def state(s: Mapping[str, Any], depth: int) -> None:
        name, kind = s["name"], s["kind"]
        sid = ids[name]
        shown = {"shallow-history": "H", "deep-history": "H*"}.get(kind, name)
        if s["children"]:
            line(depth, f"state {sid} {{" if shown == sid
                 else f'state "{_mermaid_text(shown)}" as {sid} {{')
            for initial in _initials(s):
                line(depth + 1, f"[*] --> {ids[initial]}")
            if name in inside:
                listed(depth + 1, f"{sid}__internal", f"internal transitions of {name}",
                       inside[name])
                classes.setdefault("internal", []).append(f"{sid}__internal")
            children, inner = s["children"], depth + 1
            history = [c for c in children if c["kind"].endswith("history")]
            if kind == "parallel" and history:
                # a history state of a parallel state is no region: it stands beside a box
                # of the regions (Mermaid makes a region of every part a parallel state holds)
                for child in history:
                    state(child, inner)
                children = [c for c in children if c not in history]
                line(inner, f'state "regions of {_mermaid_text(name)}" as {sid}__regions {{')
                classes.setdefault("regions", []).append(f"{sid}__regions")
                inner += 1
            for i, child in enumerate(children):
                if kind == "parallel" and i:
                    line(inner, "--")
                state(child, inner)
            for at in range(inner - 1, depth - 1, -1):
                line(at, "}")
        elif name in inside:
            listed(depth, sid, shown, inside[name])
        else:
            line(depth, sid if shown == sid else f'state "{_mermaid_text(shown)}" as {sid}')
        if kind == "final":
            line(depth, f"{sid} --> [*]")
        style = look.style(s)
        if style is not None and s["children"]:
            style += "Group"
        if style is not None:
            classes.setdefault(style, []).append(sid)

    # The root is the frame of the picture (Mermaid draws no edge into a state that holds
    # others from outside all of them).
    state(model["root"], 1)
    for style, members in classes.items():
        line(1, f"classDef {style} {_MERMAID_STYLE[style]}")
        line(1, f"class {','.join(members)} {style}")
    return "\n".join(out) + "\n"


# -- Graphviz --------------------------------------------------------------------------------

_DOT_FILL = {"active": "#ffd54f", "reached": "#c8e6c9", "unreached": "#ffcdd2",
             "history": "#eceff1", None: "white"}
_DOT_GROUP_FILL = {"active": "#fff8e1", "reached": "#f1f8e9", "unreached": "#ffebee"}
_DOT_EDGE = {"event": 'style="solid"', "eventless": 'style="dashed"',
             "timer": 'style="dashed", color="#1565c0", fontcolor="#1565c0"'}
_RED, _GREEN = "#c62828", "#2e7d32"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace('"', "&quot;")


def _wrapped(text: str) -> str:
    """A long edge label on a line per part (``event [guard]``, ``/ action``)."""
    if len(text) <= 28 or " / " not in text:
        return text
    head, _, action = text.partition(" / ")
    return f"{head}\n/ {action}"


def to_dot(model: Mapping[str, Any], active: Collection[str] = (),
           coverage: Mapping[str, Mapping[str, int]] | None = None) -> str:
    """The chart as a Graphviz ``digraph``: a state holding others is a box around them,
    the regions of a parallel state dashed boxes side by side. Eventless transitions are
    dashed, timers dashed blue; internal ones are listed inside their state,
    marked ``↺``, and so are those of ``type: internal`` to states their source holds
    (``INNER → y``: the source is not left). A transition with several targets is an arrow
    to each. ``active`` states are filled yellow; with ``coverage`` the states entered are
    green and those never entered red, and so are the transitions (with their counts)."""
    look = _Look(model, active, coverage)
    ids = {s["name"]: f"s{i}" for i, (s, _) in enumerate(_tree(model))}
    inside: dict[str, list[tuple[str, bool | None]]] = {}
    for t in model["transitions"]:
        text = _counted(label(t), t["key"], coverage, "transitions")
        if look.internal(t):
            text = f"↺ {text}"
        elif look.stays(t):
            text = f"{text} → {', '.join(_targets(t))}"
        else:
            continue
        inside.setdefault(t["source"], []).append((text, look.reached("transitions", t["key"])))
    anchor: dict[str, str] = {}  # a state drawn as a box around others -> a node inside it
    out = [f"digraph {_quoted(str(model['name']))} {{",
           '    graph [compound=true, fontname="Helvetica", fontsize=12, nodesep=0.35, '
           'ranksep=0.45];',
           '    node [fontname="Helvetica", fontsize=11, shape=box, style="rounded,filled", '
           'fillcolor="white", color="#37474f"];',
           '    edge [fontname="Helvetica", fontsize=9, color="#37474f", arrowsize=0.7];']

    def line(depth: int, text: str) -> None:
        out.append("    " * depth + text)

    def title(name: str, bold: bool) -> str:
        rows = [f"<tr><td>{'<b>' if bold else ''}{_html(name)}{'</b>' if bold else ''}"
                f"</td></tr>"]
        for text, reached in inside.get(name, []):
            colour = "" if reached is None else f' color="{_GREEN if reached else _RED}"'
            rows.append(f'<tr><td align="left"><font point-size="9"{colour}>'
                        f"{_html(text)}</font></td></tr>")
        rule = "<hr/>" if len(rows) > 1 else ""
        return f'<<table border="0" cellborder="0" cellspacing="1">{rows[0]}{rule}' \
               f"{''.join(rows[1:])}</table>>"

    def state(s: Mapping[str, Any], depth: int, region: bool) -> None:
        name, kind, sid = s["name"], s["kind"], ids[s["name"]]
        style = look.style(s)
        if s["children"]:
            line(depth, f"subgraph cluster_{sid} {{")
            styles = ["rounded"] + (["dashed"] if region else [])
            attrs = [f"label={title(name, style == 'active')}", 'labeljust="l"',
                     'color="#37474f"']
            if style in _DOT_GROUP_FILL:
                styles.append("filled")
                attrs.append(f'fillcolor="{_DOT_GROUP_FILL[style]}"')
            if style == "active":
                attrs.append('penwidth=3, color="#7a5c00"')
            line(depth + 1, f'graph [style="{",".join(styles)}", {", ".join(attrs)}];')
            if _initials(s):
                anchor[name] = f"{sid}_start"
                line(depth + 1, f'{sid}_start [shape=point, width=0.12, label="", '
                                f'fillcolor="black", color="black"];')
            else:
                anchor[name] = f"{sid}_anchor"
                line(depth + 1, f'{sid}_anchor [shape=point, width=0.01, label="", '
                                f'style="invis"];')
            # dot lays out sibling boxes right to left in the order they come: regions
            # given last first read left to right as the chart lists them
            children = s["children"][::-1] if kind == "parallel" else s["children"]
            for child in children:
                state(child, depth + 1, kind == "parallel")
            line(depth, "}")
            return
        attrs = [f'fillcolor="{_DOT_FILL[style]}"']
        styles = ["rounded", "filled"] + (["dashed"] if region or style == "unreached" else [])
        if kind.endswith("history"):
            attrs = ['shape=circle, fixedsize=true, width=0.38, fontsize=10',
                     f'label="{"H*" if kind == "deep-history" else "H"}"',
                     f"tooltip={_quoted(name)}", f'fillcolor="{_DOT_FILL[style]}"']
            styles = ["filled"]
        else:
            attrs.append(f"label={title(name, style == 'active')}")
        if kind == "final":
            attrs.append("peripheries=2")
        if style == "active":
            attrs.append('penwidth=3, color="#7a5c00"')
        elif style == "unreached":
            attrs.append(f'color="{_RED}"')
        line(depth, f'{sid} [style="{",".join(styles)}", {", ".join(attrs)}];')

    state(model["root"], 1, False)

    def end(name: str) -> str:
        return anchor.get(name, ids[name])

    def edge(source: str, target: str, attrs: list[str]) -> None:
        # An edge to or from a box around states ends at its border (lhead/ltail), unless
        # the other end is inside that box.
        if source in anchor and source not in look.ancestors(target) and source != target:
            attrs.append(f"ltail=cluster_{ids[source]}")
        if target in anchor and target not in look.ancestors(source) and source != target:
            attrs.append(f"lhead=cluster_{ids[target]}")
        line(1, f"{end(source)} -> {end(target)} [{', '.join(attrs)}];")

    for s, _ in _tree(model):
        for initial in _initials(s):
            if initial in anchor:
                line(1, f"{ids[s['name']]}_start -> {end(initial)} "
                        f"[lhead=cluster_{ids[initial]}];")
            else:
                line(1, f"{ids[s['name']]}_start -> {ids[initial]};")
        for memory in _memories(s):
            edge(s["name"], memory, ['style="dotted"', "arrowhead=vee"])
    for t in model["transitions"]:
        if look.internal(t) or look.stays(t):
            continue
        text = _counted(label(t), t["key"], coverage, "transitions")
        attrs = [f"label={_quoted(_wrapped(text))}", _DOT_EDGE[t["kind"]]]
        reached = look.reached("transitions", t["key"])
        if reached is not None:
            colour = _GREEN if reached else _RED
            attrs.append(f'color="{colour}", fontcolor="{colour}"'
                         + (", penwidth=2" if reached else ""))
        # a transition with several targets is an arrow to each, each with its label
        for target in _targets(t):
            edge(t["source"], target, list(attrs))
    out.append("}")
    return "\n".join(out) + "\n"


def to_svg(dot: str, timeout: float = 60) -> bytes:
    """``dot`` drawn as SVG by Graphviz's ``dot`` program. Raises :class:`GraphError` when
    Graphviz is not installed (saying how to install it) or fails."""
    import shutil
    import subprocess

    program = shutil.which("dot")
    if program is None:
        raise GraphError("SVG is drawn by Graphviz's dot program, which is not installed here: "
                         "install Graphviz (apt-get install graphviz, or brew install "
                         "graphviz on macOS), or print the DOT source with --format dot")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot.encode(), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GraphError(f"Graphviz's dot did not finish drawing within {timeout:g} s: print "
                         f"the DOT source with --format dot and draw it apart") from None
    if done.returncode != 0:
        raise GraphError(f"Graphviz's dot failed (exit code {done.returncode}): "
                         f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout
