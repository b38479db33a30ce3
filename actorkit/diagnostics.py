"""Diagnostics: one problem found in a chart, with its file, position, rule code and severity.

The rule codes are stable: tools may match on them. ``RULES`` is the catalogue the README
documents, one line per rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["RULES", "Diagnostic", "Rule", "Severity"]


class Severity(StrEnum):
    """How bad a diagnostic is: an ``error`` stops a chart from loading, a ``warning`` does not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One lint rule: its stable code, short name, severity and a one-line explanation."""

    code: str
    name: str
    severity: Severity
    summary: str


_E, _W = Severity.ERROR, Severity.WARNING

RULES: dict[str, Rule] = {
    r.code: r
    for r in [
        Rule("AK001", "yaml-syntax", _E, "the file is not valid YAML"),
        Rule("AK002", "unreadable", _E, "the file cannot be read as UTF-8 text"),
        Rule("AK101", "chart-schema", _E, "the chart document does not match the chart schema"),
        Rule("AK102", "hooks-module", _E, "the hooks module cannot be found or fails to import"),
        Rule("AK103", "unknown-hook", _E, "a bare name in the chart is not a function of the "
                                          "hooks"),
        Rule("AK104", "hook-signature", _E, "a hook function cannot be called as `f(ctx, event)`"),
        Rule("AK105", "schemas-file", _E, "the schemas file is missing, unreadable or misshapen"),
        Rule("AK106", "invalid-schema", _E, "a schema in the schemas file is not valid JSON "
                                            "Schema"),
        Rule("AK107", "initial-context", _E, "the initial context violates its own schema"),
        Rule("AK108", "reserved-name", _E, "a schema declares a reserved event name or field"),
        Rule("AK201", "sismic", _E, "sismic rejects the statechart (or could not run it)"),
        Rule("AK202", "duplicate-state", _E, "two states share a name (names are global)"),
        Rule("AK203", "unknown-target", _E, "a transition targets a state that does not exist"),
        Rule("AK204", "bad-initial", _E, "`initial` names no direct child of its state"),
        Rule("AK205", "no-initial", _E, "a compound state entered by default has no `initial`"),
        Rule("AK206", "unreachable", _W, "a state can never be entered"),
        Rule("AK207", "code-syntax", _E, "inline Python in an action, guard or entry/exit fails "
                                         "to compile"),
        Rule("AK208", "nondeterministic", _E, "two transitions of one state on one event with "
                                              "one priority can be enabled together"),
        Rule("AK209", "bad-memory", _E, "a history state's `memory` is not a sibling state"),
        Rule("AK210", "eventless-loop", _E, "transitions with no event and no guard loop "
                                            "forever"),
        Rule("AK211", "partial-parallel-entry", _W, "a transition into one region of a parallel "
                                                    "state leaves its other regions inactive"),
        Rule("AK212", "cross-region", _E, "a transition goes from one region of a parallel "
                                          "state to another"),
        Rule("AK213", "needs-scxml", _E, "a key or shape only `semantics: scxml` runs (several "
                                         "targets, `type:`, history in a parallel state)"),
        Rule("AK214", "unknown-done-state", _E, "a `done.state.X` event names no compound or "
                                                "parallel state"),
        Rule("AK215", "multi-target", _E, "the targets of one transition cannot be active "
                                          "together"),
        Rule("AK216", "scxml-priority", _E, "a transition has a `priority` under `semantics: "
                                            "scxml`, where document order decides"),
        Rule("AK301", "undeclared-event", _E, "a transition waits for an event no schema declares "
                                              "and nothing sends"),
        Rule("AK302", "unhandled-event", _W, "a declared client or service event has no "
                                             "transition"),
        Rule("AK303", "unhandled-sent-event", _W, "the chart sends itself an event no "
                                                  "transition handles"),
        Rule("AK304", "tell-target", _W, "a hook tells an actor type no chart beside it serves, "
                                         "or an event its chart does not declare under "
                                         "`actor:`"),
    ]
}


@dataclass(frozen=True)
class Diagnostic:
    """A problem at ``path:line:column`` (1-based), identified by a rule ``code``."""

    path: str
    line: int
    column: int
    code: str
    message: str

    @property
    def severity(self) -> Severity:
        """The severity of the rule this diagnostic belongs to."""
        return RULES[self.code].severity

    @property
    def rule(self) -> Rule:
        """The rule this diagnostic belongs to."""
        return RULES[self.code]

    def format(self) -> str:
        """``path:line:col: CODE message``, the text form every tool understands."""
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"

    def to_json(self) -> dict[str, object]:
        """The stable JSON form used by ``actorkit lint --format json``."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "rule": self.rule.name,
            "severity": self.severity.value,
            "message": self.message,
        }
