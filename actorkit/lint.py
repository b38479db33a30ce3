"""``actorkit lint``: check chart files and report every problem in text, JSON or GitHub form.

The CLI is a thin shell over :func:`lint_paths` and :meth:`LintReport.render`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .chart import Chart, inspect_chart
from .diagnostics import Diagnostic, Severity
from .errors import ActorkitError, ChartError
from .tells import check_tells

__all__ = ["FORMATS", "LintReport", "LintUsageError", "chart_files", "lint_files", "lint_paths",
           "load_charts"]

FORMATS = ("text", "json", "github")
CHART_SUFFIXES = (".yaml", ".yml")


class LintUsageError(ActorkitError):
    """The paths given to lint cannot be linted at all (exit code 2)."""


@dataclass
class LintReport:
    """The diagnostics of every file linted, in file order."""

    files: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for d in self.diagnostics if d.severity is severity)

    def failed(self, fail_level: Severity = Severity.WARNING) -> bool:
        """Whether the report has a diagnostic at ``fail_level`` or worse."""
        if fail_level is Severity.ERROR:
            return self.count(Severity.ERROR) > 0
        return bool(self.diagnostics)

    def render(self, fmt: str = "text") -> str:
        """The report as ``text`` (``path:line:col: CODE message``), ``json`` or ``github``."""
        if fmt == "json":
            return json.dumps([d.to_json() for d in self.diagnostics], indent=2)
        if fmt == "github":
            return "\n".join(_github(d) for d in self.diagnostics)
        lines = [d.format() for d in self.diagnostics]
        errors, warnings = self.count(Severity.ERROR), self.count(Severity.WARNING)
        n = len(self.files)
        files = f"{n} chart{'s' if n != 1 else ''}"
        if errors or warnings:
            lines.append(f"Found {errors} error{'s' if errors != 1 else ''} and {warnings} "
                         f"warning{'s' if warnings != 1 else ''} in {files}.")
        else:
            lines.append(f"All clean: {files} checked.")
        return "\n".join(lines)


def _escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _github(d: Diagnostic) -> str:
    level = "error" if d.severity is Severity.ERROR else "warning"
    return (f"::{level} file={_escape(d.path, prop=True)},line={d.line},col={d.column},"
            f"title={d.code}::{_escape(d.message)}")


# A chart's `actor:` names its type on the same line; a schemas file's `actor:` section maps
# event names (on the lines below, or in braces), and does not make it a chart.
_CHART_KEY = re.compile(rb"^(statechart\s*:|actor\s*:[ \t]*[^\s{\[#])", re.MULTILINE)


def _looks_like_chart(file: Path) -> bool:
    """Whether a YAML file found in a folder is a chart (has a top-level ``statechart:`` key,
    or an ``actor:`` naming its type) rather than a schemas file, a CI workflow or other
    YAML."""
    try:
        return _CHART_KEY.search(file.read_bytes()) is not None
    except OSError:
        return True  # let inspect_chart report why it cannot be read


def chart_files(paths: Iterable[str | Path]) -> list[Path]:
    """The chart files named by ``paths``: files as given, folders searched recursively for
    ``*.yaml``/``*.yml`` files that look like charts (hidden folders skipped). Each file comes
    once. Raises :class:`LintUsageError` for a path that does not exist or a folder without
    charts."""
    out: dict[Path, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.suffix in CHART_SUFFIXES and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and _looks_like_chart(p))
            if not found:
                raise LintUsageError(f"{raw}: no chart files in this folder (a chart is a "
                                     f"*.yaml file with top-level `actor:` and `statechart:`)")
            for p in found:
                out.setdefault(p.resolve(), p)
        elif path.is_file():
            out.setdefault(path.resolve(), path)
        else:
            raise LintUsageError(f"{raw}: no such file or folder")
    return list(out.values())


def lint_paths(paths: Iterable[str | Path]) -> LintReport:
    """Lint every chart under ``paths`` (see :func:`chart_files`)."""
    return lint_files(chart_files(paths))


def lint_files(files: Iterable[str | Path]) -> LintReport:
    """Lint each of the chart ``files``, as given (:func:`lint_paths` finds them first), and
    the tells of each (AK304) against the charts served beside it: those linted, and those
    in its folder."""
    report = LintReport()
    linted: dict[Path, Chart | None] = {}
    for file in files:
        found = inspect_chart(file)
        report.files.append(str(file))
        report.diagnostics.extend(found.diagnostics)
        linted[Path(file).resolve()] = found.chart
    known = dict(linted)  # and the charts beside them, built once each when first needed
    for file, chart in linted.items():
        if chart is None:
            continue
        served = {c.actor_type: c for c in linted.values() if c is not None}
        for sibling in _siblings(file.parent, known):
            served.setdefault(sibling.actor_type, sibling)
        report.diagnostics.extend(check_tells(chart, served))
    return report


def _siblings(folder: Path, known: dict[Path, Chart | None]) -> list[Chart]:
    """The charts in ``folder`` (what a server of it serves); ``known`` holds those built."""
    charts = []
    for file in sorted(folder.iterdir()):
        if file.suffix not in CHART_SUFFIXES or not file.is_file():
            continue
        path = file.resolve()
        if path not in known:
            known[path] = inspect_chart(file).chart if _looks_like_chart(file) else None
        chart = known[path]
        if chart is not None:
            charts.append(chart)
    return charts


def load_charts(paths: Iterable[str | Path]) -> dict[str, Chart]:
    """Check and load every chart under ``paths``, by actor type: what a server serves.

    Raises :class:`~actorkit.ChartError` with every error of every chart if any has one, or if
    two charts claim one actor type; warnings do not stop it.
    """
    charts: dict[str, Chart] = {}
    errors: list[Diagnostic] = []
    for file in chart_files(paths):
        found = inspect_chart(file)
        errors.extend(found.errors)
        chart = found.chart
        if chart is None:
            continue
        other = charts.get(chart.actor_type)
        if other is not None:
            errors.append(Diagnostic(chart.path, 1, 1, "AK101",
                                     f"actor type {chart.actor_type!r} is also served by "
                                     f"{other.path}: give each chart its own `actor:`"))
            continue
        charts[chart.actor_type] = chart
    if errors:
        raise ChartError(errors)
    return charts
