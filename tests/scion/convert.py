"""SCION's SCXML tests as actorkit charts (see README.md here).

``convert(path)`` turns one ``.scxml`` file into the text of its actorkit chart, in the chart
format of ``semantics: scxml`` without that line (the runner puts it first): ``<scxml>`` is the
root compound state, ``<state>``, ``<parallel>``, ``<final>`` and ``<history>`` are states of
those kinds, ``<transition>`` is a transition (a list of targets when it names several),
``<raise>`` in ``<onentry>``, ``<onexit>`` or a transition is sismic's ``send()``. Document
order is kept everywhere. Anything else in the file is a :class:`ConversionError` naming it and
its line: nothing is left out silently.

Run as a script, it writes every test's ``<name>.yaml`` next to its ``.scxml`` and the shared
``scion.schemas.yaml`` (``--check`` only says which differ).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

SUITE = Path(__file__).resolve().parent
SCHEMAS = "scion.schemas.yaml"
NS = "http://www.w3.org/2005/07/scxml"
ROOT = "root"  # the name of the root state, which SCXML leaves unnamed


class ConversionError(Exception):
    """An SCXML construct the converter does not handle, with the file and line it is on."""


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)


def every_test() -> list[str]:
    """Every test here, as ``group/name``, sorted."""
    return sorted(str(p.relative_to(SUITE).with_suffix("")) for p in SUITE.rglob("*.scxml"))


def actor_type(test: str) -> str:
    """The actor type of a test's chart: ``parallel+interrupt/test0`` is
    ``scion-parallel-interrupt-test0``."""
    return "scion-" + "-".join(w for w in re.split(r"[^a-z0-9]+", test.lower()) if w)


def parse(path: Path) -> Node:
    """The SCXML document at ``path`` as a tree of nodes (comments dropped)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[Node] = []
    top: list[Node] = []

    def where() -> str:
        return f"{path}:{parser.CurrentLineNumber}"

    def start(name: str, attrs: dict[str, str]) -> None:
        ns, _, tag = name.rpartition(" ")
        if ns != NS:
            raise ConversionError(f"{where()}: element <{tag}> is not in the SCXML namespace "
                                  f"{NS!r}: only SCXML elements are converted")
        node = Node(tag, dict(attrs), parser.CurrentLineNumber)
        (stack[-1].children if stack else top).append(node)
        stack.append(node)

    def end(name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if data.strip():
            raise ConversionError(f"{where()}: text {data.strip()[:40]!r} inside "
                                  f"<{stack[-1].tag}> is not converted")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.Parse(path.read_bytes(), True)
    return top[0]


def _walk(node: Node) -> list[Node]:
    return [node, *(n for c in node.children for n in _walk(c))]


class _Converter:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: Node, what: str) -> ConversionError:
        return ConversionError(f"{self.path}:{node.line}: {what}")

    def attrs(self, node: Node, allowed: set[str],
              required: frozenset[str] = frozenset()) -> None:
        for name in node.attrs:
            if name not in allowed:
                raise self.fail(node, f"attribute {name!r} of <{node.tag}> is not converted")
        for name in required - node.attrs.keys():
            raise self.fail(node, f"<{node.tag}> has no {name!r}: the converter needs one")

    def root(self, node: Node, test: str) -> dict[str, Any]:
        if node.tag != "scxml":
            raise self.fail(node, f"the document is <{node.tag}>, not <scxml>")
        # `datamodel` names the language of expressions, and a converted test has none (any
        # <script>, <data>, `cond` or `expr` is refused below), so it changes nothing here
        self.attrs(node, {"version", "datamodel", "initial"})
        if node.attrs.get("version", "1.0") != "1.0":
            raise self.fail(node, f"SCXML version {node.attrs['version']!r} is not 1.0")
        ids = [n.attrs["id"] for n in _walk(node) if "id" in n.attrs]
        if ROOT in ids:
            raise self.fail(node, f"a state is named {ROOT!r}, the name of the root state")
        state: dict[str, Any] = {"name": ROOT}
        self.compound(node, state)
        return {"name": f"SCION {test}", "root state": state}

    def compound(self, node: Node, state: dict[str, Any]) -> None:
        """The children of ``node`` (a <scxml> or a <state> with children) into ``state``."""
        kinds = {"state", "parallel", "final"}
        children = [c for c in node.children if c.tag in kinds | {"history"}]
        for child in children:
            if "id" not in child.attrs:
                raise self.fail(child, f"<{child.tag}> has no 'id': the converter needs one")
        initial = [c for c in node.children if c.tag == "initial"]
        if initial[1:]:
            raise self.fail(initial[1], f"<{node.tag}> has a second <initial>")
        if "initial" in node.attrs and initial:
            raise self.fail(node, f"<{node.tag}> has both an `initial` attribute and an "
                                  f"<initial> child: SCXML allows one")
        if "initial" in node.attrs:
            state["initial"] = self.names(node, "initial")
        elif initial:
            self.attrs(initial[0], set())
            state["initial"] = self.default(initial[0])
        else:
            first = [c for c in children if c.tag != "history"]
            if not first:
                raise self.fail(node, f"<{node.tag}> has only history children")
            state["initial"] = first[0].attrs["id"]
        self.behaviour(node, state, kinds | {"history", "initial"})
        state["states"] = [self.state(c) for c in children]

    def default(self, node: Node) -> str | list[str]:
        """The target(s) of an <initial>'s or a <history>'s transition: one, bare."""
        if [c.tag for c in node.children] != ["transition"]:
            raise self.fail(node, f"<{node.tag}> must hold exactly one <transition>")
        transition = node.children[0]
        self.attrs(transition, {"target"}, frozenset({"target"}))
        if transition.children:
            raise self.fail(transition.children[0],
                            f"<{transition.children[0].tag}> in the transition of "
                            f"<{node.tag}>: the chart format has no actions there")
        return self.names(transition, "target")

    def state(self, node: Node) -> dict[str, Any]:
        if node.tag == "history":
            return self.history(node)
        self.attrs(node, {"id", "initial"} if node.tag == "state" else {"id"}, frozenset({"id"}))
        state: dict[str, Any] = {"name": node.attrs["id"]}
        if node.tag == "final":
            state["type"] = "final"
            self.behaviour(node, state, set())
        elif node.tag == "parallel":
            self.behaviour(node, state, {"state", "parallel", "history"})
            state["parallel states"] = [self.state(c) for c in node.children
                                        if c.tag in ("state", "parallel", "history")]
        elif any(c.tag in ("state", "parallel", "final") for c in node.children):
            self.compound(node, state)
        else:
            if "initial" in node.attrs:
                raise self.fail(node, f"atomic state {node.attrs['id']!r} has an `initial`")
            self.behaviour(node, state, set())
        return state

    def history(self, node: Node) -> dict[str, Any]:
        self.attrs(node, {"id", "type"}, frozenset({"id"}))
        kind = node.attrs.get("type", "shallow")
        if kind not in ("shallow", "deep"):
            raise self.fail(node, f"history type {kind!r} is neither 'shallow' nor 'deep'")
        return {"name": node.attrs["id"], "type": f"{kind} history",
                "memory": self.default(node)}

    def behaviour(self, node: Node, state: dict[str, Any], nested: set[str]) -> None:
        """``node``'s <onentry>, <onexit> and <transition> children into ``state``; any
        other child that is not one of the ``nested`` states is an error."""
        entry: list[str] = []
        exit_: list[str] = []
        transitions: list[dict[str, Any]] = []
        for child in node.children:
            if child.tag in nested:
                continue
            if node.tag == "scxml":
                raise self.fail(child, f"<{child.tag}> in <scxml> is not converted")
            if child.tag == "onentry":
                self.attrs(child, set())
                entry += self.actions(child)
            elif child.tag == "onexit":
                self.attrs(child, set())
                exit_ += self.actions(child)
            elif child.tag == "transition":
                transitions.append(self.transition(child))
            else:
                raise self.fail(child, f"<{child.tag}> in <{node.tag}> is not converted")
        if entry:
            state["on entry"] = "\n".join(entry)
        if exit_:
            state["on exit"] = "\n".join(exit_)
        if transitions:
            state["transitions"] = transitions

    def transition(self, node: Node) -> dict[str, Any]:
        self.attrs(node, {"event", "target", "type"})
        transition: dict[str, Any] = {}
        if "event" in node.attrs:
            transition["event"] = " ".join(node.attrs["event"].split())
        if "target" in node.attrs:
            transition["target"] = self.names(node, "target")
        kind = node.attrs.get("type", "external")
        if kind not in ("internal", "external"):
            raise self.fail(node, f"transition type {kind!r} is neither 'internal' nor "
                                  f"'external'")
        if kind == "internal":
            transition["type"] = "internal"
        actions = self.actions(node)
        if actions:
            transition["action"] = "\n".join(actions)
        return transition

    def actions(self, node: Node) -> list[str]:
        """The executable content of ``node``: only <raise>, as sismic's ``send()``."""
        code = []
        for child in node.children:
            if child.tag != "raise":
                raise self.fail(child, f"<{child.tag}> in <{node.tag}> is not converted "
                                       f"(only <raise> is)")
            self.attrs(child, {"event"}, frozenset({"event"}))
            if child.children:
                raise self.fail(child.children[0], f"<{child.children[0].tag}> in <raise>")
            code.append(f"send({child.attrs['event']!r})")
        return code

    def names(self, node: Node, attr: str) -> str | list[str]:
        """The state name(s) of an IDREFS attribute: a name, or a list of several."""
        names = node.attrs[attr].split()
        if not names:
            raise self.fail(node, f"`{attr}` of <{node.tag}> names no state")
        return names[0] if len(names) == 1 else names


def convert(path: Path, test: str | None = None) -> str:
    """The actorkit chart of the SCXML document at ``path``, as the text of its ``.yaml``
    file; ``test`` names it (``group/name``: by default, its place in this folder)."""
    path = path.resolve()
    test = test or str(path.relative_to(SUITE).with_suffix(""))
    statechart = _Converter(path).root(parse(path), test)
    head = (f"# SCION test {test}, converted from {path.name} by tests/scion/convert.py:\n"
            f"# change the converter, not this file\n")
    body: dict[str, Any] = {"actor": actor_type(test), "schemas": SCHEMAS,
                            "statechart": statechart}
    return head + "".join(_yaml(body, 0))


def schemas() -> str:
    """The shared schemas file: every event name the tests' JSON files send, as a client
    event with an empty payload."""
    names: set[str] = set()
    for test in every_test():
        data = json.loads((SUITE / f"{test}.json").read_text("utf-8"))
        names.update(step["event"]["name"] for step in data["events"])
    lines = [f"  {_scalar(n)}: {{}}\n" for n in sorted(names)]
    return ("# Every event the SCION tests' JSON files send (README.md); written by "
            "tests/scion/convert.py\nclient:\n" + "".join(lines))


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*( [A-Za-z0-9_.-]+)*")
_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _WORDS:
        return text
    return json.dumps(text)


def _yaml(value: dict[str, Any], indent: int) -> list[str]:
    """``value`` as block YAML: mappings and lists of mappings in blocks, lists of names in
    flow style, strings plain where YAML reads them back as the same string."""
    lines = []
    pad = " " * indent
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:\n")
            lines += _yaml(item, indent + 2)
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            lines.append(f"{pad}{key}:\n")
            for entry in item:
                sub = _yaml(entry, indent + 4)
                lines.append(f"{pad}  - {sub[0][indent + 4:]}")
                lines += sub[1:]
        else:
            lines.append(f"{pad}{key}: {_scalar(item)}\n")
    return lines


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print("usage: python tests/scion/convert.py [--check]", file=sys.stderr)
        return 2
    outputs = {SUITE / f"{t}.yaml": convert(SUITE / f"{t}.scxml") for t in every_test()}
    outputs[SUITE / SCHEMAS] = schemas()
    stale = [p for p, text in outputs.items()
             if not p.is_file() or p.read_text("utf-8") != text]
    if not check:
        for p in stale:
            p.write_text(outputs[p], "utf-8")
    for p in stale:
        print(f"{'differs' if check else 'wrote'}: {p.relative_to(SUITE)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
