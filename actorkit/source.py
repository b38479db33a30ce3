"""YAML files read with positions: plain JSON-like data plus the line and column of every node.

ruamel.yaml's round-trip loader keeps a position on every mapping key, mapping value and
sequence item; this module turns its node types into plain ``dict``/``list``/scalars (what
sismic, jsonschema and the actor want) and keeps the positions in a side table keyed by the
node's path, so any later check can point at ``file:line:col``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

__all__ = ["Position", "Source", "SourceError", "load_yaml", "parse_yaml"]

Position = tuple[int, int]  # 1-based line and column
NodePath = tuple[str | int, ...]


class SourceError(Exception):
    """A file could not be read or parsed; ``code`` is the lint rule (AK001/AK002)."""

    def __init__(self, code: str, message: str, position: Position = (1, 1)) -> None:
        self.code = code
        self.message = message
        self.position = position
        super().__init__(message)


@dataclass
class Source:
    """A parsed YAML document: ``data`` as plain Python, with positions by node path."""

    path: str
    data: Any
    values: dict[NodePath, Position] = field(default_factory=dict)
    keys: dict[NodePath, Position] = field(default_factory=dict)

    def at(self, path: NodePath) -> Position:
        """Position of the node at ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), (1, 1))

    def key_at(self, path: NodePath) -> Position:
        """Position of the mapping key that introduces ``path`` (falls back to :meth:`at`)."""
        return self.keys.get(tuple(path)) or self.at(path)


def _plain(node: Any, path: NodePath, src: Source) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            # YAML allows non-string keys; JSON does not. Keep them as text so the schema
            # check can report them instead of crashing here.
            k = key if isinstance(key, str) else str(key)
            child = (*path, k)
            try:
                kl, kc = node.lc.key(key)
                src.keys[child] = (kl + 1, kc + 1)
                vl, vc = node.lc.value(key)
                src.values[child] = (vl + 1, vc + 1)
            except (KeyError, TypeError):  # merged keys (<<) carry no own position
                pass
            out[k] = _plain(value, child, src)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, value in enumerate(node):
            child = (*path, i)
            try:
                il, ic = node.lc.item(i)
                src.values[child] = (il + 1, ic + 1)
            except (KeyError, TypeError):
                pass
            items.append(_plain(value, child, src))
        return items
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, datetime.date | datetime.datetime):
        # JSON has no dates: keep the ISO text the user wrote.
        return node.isoformat()
    return node


#: What to do about the YAML errors people make most often.
_HINTS = (
    ("mapping values are not allowed", ": check this line's indentation, or quote a value "
                                       "that contains ': '"),
    ("'\\t'", ": indent with spaces, not tabs"),
    ("duplicate key", ": remove or rename one of them"),
)


def parse_yaml(text: str, path: str) -> Source:
    """Parse YAML ``text`` (shown as ``path`` in messages) into a :class:`Source`.

    Raises :class:`SourceError` (AK001) with the position of a syntax error.
    """
    yaml = YAML(typ="rt", pure=True)
    try:
        node = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        pos = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = e.problem or e.context or "invalid YAML"
        if (e.problem and e.context and e.context.startswith(("while parsing", "while scanning"))
                and e.context_mark is not None and e.context_mark != mark):
            start = e.context_mark
            problem += f" ({e.context} started at line {start.line + 1}, column {start.column + 1})"
        hint = next((h for key, h in _HINTS if key in problem), "")
        raise SourceError("AK001", f"YAML syntax error: {problem}{hint}", pos) from e
    except YAMLError as e:
        raise SourceError("AK001", f"YAML syntax error: {e}") from e
    src = Source(path=path, data=None)
    src.values[()] = (1, 1)
    if isinstance(node, CommentedMap | CommentedSeq):
        line, col = node.lc.line, node.lc.col
        src.values[()] = (line + 1, col + 1)
    src.data = _plain(node, (), src)
    return src


def load_yaml(path: Path, display: str | None = None) -> Source:
    """Read and parse the YAML file at ``path``; errors are :class:`SourceError` (AK001/AK002)."""
    shown = display if display is not None else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        before = e.object[:e.start]
        pos = (before.count(b"\n") + 1, e.start - before.rfind(b"\n"))
        raise SourceError("AK002", f"cannot read {shown}: not UTF-8 text (byte "
                                   f"0x{e.object[e.start]:02x} {e.reason}); save the file as "
                                   f"UTF-8", pos) from e
    except OSError as e:
        raise SourceError("AK002", f"cannot read {shown}: {e.strerror or e}") from e
    return parse_yaml(text, shown)
