"""What a chart tells other actors: the ``ctx.tell("type", id, "EVENT", ...)`` calls of its
hooks whose actor type and event are literal strings, checked against the charts that would
receive them (lint's AK304). A tell whose names are computed cannot be known, and is not
checked."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .chart import Chart
from .diagnostics import Diagnostic
from .project import display

__all__ = ["Tell", "check_tells", "tells_in"]


@dataclass(frozen=True)
class Tell:
    """A ``ctx.tell()`` of ``event`` to an actor of ``actor_type``, at ``line:column``."""

    actor_type: str
    event: str
    line: int
    column: int


def tells_in(source: str) -> list[Tell]:
    """The tells with a literal actor type and event in the Python ``source``, in order."""
    found: list[Tell] = []
    with contextlib.suppress(SyntaxError):
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "tell" and len(node.args) >= 3):
                continue
            kind, event = node.args[0], node.args[2]
            if isinstance(kind, ast.Constant) and isinstance(kind.value, str) and \
                    isinstance(event, ast.Constant) and isinstance(event.value, str):
                found.append(Tell(kind.value, event.value, node.lineno, node.col_offset + 1))
    return sorted(found, key=lambda t: (t.line, t.column))


def check_tells(chart: Chart, served: Mapping[str, Chart]) -> list[Diagnostic]:
    """AK304 for each tell of ``chart``'s hooks to an actor type no chart of ``served``
    serves, or of an event its receiver does not declare under ``actor:``."""
    if chart.hooks_file is None:
        return []
    file = Path(chart.hooks_file)
    try:
        source = file.read_text("utf-8")
    except OSError:
        return []  # AK102 says why the hooks cannot be read
    where = display(file)
    out = []
    for tell in tells_in(source):
        receiver = served.get(tell.actor_type)
        if receiver is None:
            message = (f"ctx.tell() to actor type {tell.actor_type!r}, which no chart here "
                       f"serves ({', '.join(sorted(served)) or 'none'}): every such message "
                       f"would come back as MESSAGE_FAILED; tell a served type, or add its "
                       f"chart")
        elif tell.event not in receiver.schemas.actor:
            declared = ", ".join(sorted(receiver.schemas.actor)) or "none"
            message = (f"ctx.tell() of {tell.event!r} to {tell.actor_type!r}, which does not "
                       f"declare it under `actor:` in {receiver.schemas.path or 'its schemas'} "
                       f"(it declares: {declared}): it would be refused; declare it there")
        else:
            continue
        out.append(Diagnostic(where, tell.line, tell.column, "AK304", message))
    return out
