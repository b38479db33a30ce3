"""The ``actorkit`` command: a thin shell over the library.

Exit codes follow ruff and mypy: 0 clean, 1 problems found, 2 the command could not run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from . import __version__
from .diagnostics import RULES, Severity

__all__ = ["main"]


def _lint(args: argparse.Namespace) -> int:
    from .lint import LintUsageError, lint_paths

    if not args.paths and not Path("charts").is_dir():
        print("actorkit lint: no charts/ folder here: run it in your project's folder or name "
              "the chart files or folders to check (actorkit lint PATH...)", file=sys.stderr)
        return 2
    try:
        report = lint_paths(args.paths or ["charts"])
    except LintUsageError as e:
        print(f"actorkit lint: {e}", file=sys.stderr)
        return 2
    text = report.render(args.format)
    if text:
        print(text)
    return 1 if report.failed(Severity(args.fail_level)) else 0


def _run(args: argparse.Namespace) -> int:
    import json

    from .chart import load_chart
    from .errors import ActorkitError
    from .events import Caller
    from .session import Session

    try:
        caller = Caller.parse(args.caller)
        given = json.loads(args.input) if args.input is not None else None
        snapshot = Path(args.restore).read_bytes() if args.restore else None
        session = Session(load_chart(args.chart), args.id, caller=caller, input=given,
                          snapshot=snapshot)
        for result in session.run(sys.stdin):
            print(json.dumps(result), flush=True)
        if args.save:
            Path(args.save).write_bytes(session.actor.snapshot_json())
    except (ActorkitError, ValueError, OSError) as e:
        print(f"actorkit run: {e}", file=sys.stderr)
        return 2
    return 1 if args.check and session.failures else 0


def _rules(args: argparse.Namespace) -> int:
    for rule in RULES.values():
        print(f"{rule.code}  {rule.name:<18} {rule.severity.value:<8} {rule.summary}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    name = "chart.schema.json" if args.which == "chart" else "schemas.schema.json"
    resource = resources.files("actorkit").joinpath(name)
    if args.path:
        print(resource)
    else:
        print(resource.read_text("utf-8"), end="")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="actorkit", description="Stateful actors whose logic is a YAML statechart.")
    parser.add_argument("--version", action="version", version=f"actorkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lint = sub.add_parser("lint", help="check chart files (default: charts/)",
                          description="Check chart files and their hooks and schemas. "
                                      "Exit 0 clean, 1 problems found, 2 could not run.")
    lint.add_argument("paths", nargs="*", metavar="PATH", help="chart files or folders")
    lint.add_argument("--format", choices=("text", "json", "github"), default="text")
    lint.add_argument("--fail-level", choices=("error", "warning"), default="warning",
                      help="lowest severity that makes the exit code 1 (default: warning)")
    lint.set_defaults(run=_lint)

    run = sub.add_parser(
        "run", help="run a session of events through one actor of a chart",
        description="Read commands from stdin, one per line: a JSON event (sent as --caller), "
                    "`<type>:<id> <JSON event>` to send as someone else, `wait <seconds>` to "
                    "let time pass, `view <type>:<id>`. Print one JSON result per command. "
                    "Exit 0 when the session ran (rejected events are results too; with "
                    "--check they make it exit 1), 2 when it could not run.")
    run.add_argument("chart", help="the chart file")
    run.add_argument("--id", default="demo", help="the actor id (default: demo)")
    run.add_argument("--caller", default="client:demo",
                     help="who sends events without a caller prefix (default: client:demo)")
    run.add_argument("--input", metavar="JSON", help="spawn input, as JSON")
    run.add_argument("--restore", metavar="FILE", help="start from a snapshot file instead")
    run.add_argument("--save", metavar="FILE", help="write the final snapshot to FILE")
    run.add_argument("--check", action="store_true",
                     help="exit 1 if an event was rejected or failed")
    run.set_defaults(run=_run)

    rules = sub.add_parser("rules", help="list the lint rules")
    rules.set_defaults(run=_rules)

    schema = sub.add_parser("schema", help="print the JSON Schema of chart or schemas files",
                            description="Print a JSON Schema for editors (yaml-language-server "
                                        "modeline), or with --path where the package keeps it.")
    schema.add_argument("which", choices=("chart", "schemas"), nargs="?", default="chart")
    schema.add_argument("--path", action="store_true", help="print the file's path instead")
    schema.set_defaults(run=_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``actorkit`` command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
