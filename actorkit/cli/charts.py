"""The commands on chart files: ``lint``, ``test``, ``run``, ``graph``, ``types``, ``rules``,
``schema``."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..diagnostics import RULES, Severity

if TYPE_CHECKING:
    from ..chart import Chart


def _chart_files(command: str, paths: list[str], verb: str) -> list[Path] | None:
    """The chart files named by the PATH arguments, or under ``charts/`` when there are none;
    ``None``, after saying why, when they name no chart (exit code 2)."""
    from ..lint import LintUsageError, chart_files

    if not paths and not Path("charts").is_dir():
        print(f"actorkit {command}: no charts/ folder here: run it in your project's folder or "
              f"name the chart files or folders to {verb} (actorkit {command} PATH...)",
              file=sys.stderr)
        return None
    try:
        return chart_files(paths or ["charts"])
    except LintUsageError as e:
        print(f"actorkit {command}: {e}", file=sys.stderr)
        return None


def lint(args: argparse.Namespace) -> int:
    from ..lint import lint_files

    files = _chart_files("lint", args.paths, "check")
    if files is None:
        return 2
    report = lint_files(files)
    text = report.render(args.format)
    if text:
        print(text)
    return 1 if report.failed(Severity(args.fail_level)) else 0


def test(args: argparse.Namespace) -> int:
    import json
    import time

    from ..chart import load_chart
    from ..errors import ChartError

    try:
        from ..testing import Result, check_chart
        from ..testing.harness import InvariantError, load_invariant
        from ..testing.report import json_report, text_report
    except ImportError as e:
        print(f"actorkit test: {e}", file=sys.stderr)
        return 2
    from ..coverage import Coverage, write_coverage

    try:
        invariants = [load_invariant(spec) for spec in args.invariant]
    except InvariantError as e:
        print(f"actorkit test: {e}", file=sys.stderr)
        return 2
    if args.coverage is not None and not Path(args.coverage).parent.is_dir():
        print(f"actorkit test: --coverage {args.coverage}: the folder "
              f"{Path(args.coverage).parent} does not exist; create it or write the file "
              f"elsewhere", file=sys.stderr)
        return 2
    files = _chart_files("test", args.paths, "test")
    if files is None:
        return 2
    charts = []
    for file in files:
        try:
            charts.append((file, load_chart(file)))
        except ChartError as e:
            print(e, file=sys.stderr)
            print(f"actorkit test: {file} has errors: fix them first (actorkit lint {file})",
                  file=sys.stderr)
            return 2
    live = sys.stderr.isatty() and args.format == "text"
    failed, reports = False, []
    reached: list[Coverage] = []
    for file, chart in charts:
        shown = [0.0, 0.0]  # when the line was last written, and whether it was shrinking

        def progress(so_far: Result, file: Path = file, shown: list[float] = shown) -> None:
            now, shrinking = time.monotonic(), so_far.found_in is not None
            # a line that updates in place, at most 4 times a second and when a failure is found
            if live and (now - shown[0] > 0.25 or shrinking != shown[1]):
                shown[:] = [now, shrinking]
                doing = f"failed in run {so_far.found_in}, shrinking: " \
                    f"{so_far.examples - so_far.found_in} runs" if so_far.found_in is not None \
                    else f"{so_far.examples}/{args.max_examples} runs"
                print(f"\r\033[K{file}: {doing}", end="", file=sys.stderr, flush=True)

        result = check_chart(chart, max_examples=args.max_examples, seed=args.seed,
                             steps=args.steps, invariants=invariants,
                             steer=not args.no_steer, progress=progress,
                             peers=[c for _, c in charts])
        if live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        failed = failed or not result.ok
        if result.coverage is not None:
            reached.append(result.coverage)
        if args.format == "json":
            reports.append(json_report(result))
        else:
            print(text_report(result), end="", flush=True)
    if args.format == "json":
        print(json.dumps(reports, indent=2))
    if args.coverage is not None:
        try:
            write_coverage(args.coverage, reached)
        except OSError as e:
            print(f"actorkit test: cannot write the coverage file {args.coverage}: "
                  f"{e.strerror or e}; give --coverage a file you may write", file=sys.stderr)
            return 2
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    import json

    from ..chart import load_chart
    from ..errors import ActorkitError
    from ..events import Caller
    from ..session import Session

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


def _one_chart(command: str, path: str) -> Chart | int:
    """The chart a command names, or its exit code after saying why it cannot have it: 2 for
    no such file, 1 for a chart with errors."""
    from ..chart import load_chart
    from ..errors import ChartError

    if not Path(path).is_file():
        print(f"actorkit {command}: no chart file {path}: name a chart's YAML file (e.g. "
              f"charts/todo.yaml)", file=sys.stderr)
        return 2
    try:
        return load_chart(path)
    except ChartError as e:
        print(e, file=sys.stderr)
        print(f"actorkit {command}: {path} has errors: fix them first (actorkit lint "
              f"{path})", file=sys.stderr)
        return 1


def graph(args: argparse.Namespace) -> int:
    import json

    from .. import graph
    from ..errors import GraphError

    chart = _one_chart("graph", args.chart)
    if isinstance(chart, int):
        return chart
    try:
        model = graph.graph(chart)
        active = graph.active_states(model, args.state) if args.state is not None else set()
        coverage = None
        if args.coverage is not None:
            try:
                data = json.loads(Path(args.coverage).read_bytes())
            except (OSError, ValueError) as e:
                raise GraphError(f"cannot read the coverage file {args.coverage}: {e}") from None
            coverage = graph.chart_coverage(model, data)
        if args.format == "json":
            shown = dict(model)
            if args.state is not None:
                shown["active"] = sorted(active)
            if coverage is not None:
                shown["coverage"] = coverage
            text: str | bytes = json.dumps(shown, indent=2, ensure_ascii=False) + "\n"
        elif args.format == "mermaid":
            text = graph.to_mermaid(model, active, coverage)
        else:
            text = graph.to_dot(model, active, coverage)
            if args.format == "svg":
                text = graph.to_svg(text)
    except GraphError as e:
        print(f"actorkit graph: {e}", file=sys.stderr)
        return 2
    data = text.encode() if isinstance(text, str) else text
    if args.output is None:
        sys.stdout.buffer.write(data)
        return 0
    try:
        Path(args.output).write_bytes(data)
    except OSError as e:
        print(f"actorkit graph: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0


def types(args: argparse.Namespace) -> int:
    from ..codegen import generate_types, same_types, write_types

    if args.check and args.output is None:
        print("actorkit types: --check compares with a file: name it with -o FILE",
              file=sys.stderr)
        return 2
    chart = _one_chart("types", args.chart)
    if isinstance(chart, int):
        return chart
    data = generate_types(chart, args.lang).encode()
    if args.output is None:
        sys.stdout.buffer.write(data)
        return 0
    out, again = Path(args.output), f"actorkit types {args.chart} --lang {args.lang} -o " \
                                     f"{args.output}"
    try:
        if not args.check:
            write_types(out, data)
            return 0
        same = same_types(out, data)
    except OSError as e:
        print(f"actorkit types: cannot {'read' if args.check else 'write'} {out}: "
              f"{e.strerror or e}", file=sys.stderr)
        return 2
    if same is None:
        print(f"actorkit types: {out} does not exist: write it with `{again}`", file=sys.stderr)
    elif not same:
        print(f"actorkit types: {out} is not the types of {args.chart} as they are now: "
              f"rewrite it with `{again}`", file=sys.stderr)
    return 0 if same else 1


def rules(args: argparse.Namespace) -> int:
    for rule in RULES.values():
        print(f"{rule.code}  {rule.name:<18} {rule.severity.value:<8} {rule.summary}")
    return 0


def schema(args: argparse.Namespace) -> int:
    name = "chart.schema.json" if args.which == "chart" else "schemas.schema.json"
    resource = resources.files("actorkit").joinpath(name)
    if args.path:
        print(resource)
    else:
        print(resource.read_text("utf-8"), end="")
    return 0
