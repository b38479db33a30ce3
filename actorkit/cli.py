"""The ``actorkit`` command: a thin shell over the library.

Exit codes follow ruff and mypy: 0 clean, 1 problems found, 2 the command could not run
(a wrong argument prints the usage of the command it was given to); 141 when the output
was cut off by a closed pipe, as for any program SIGPIPE ends.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .diagnostics import RULES, Severity

if TYPE_CHECKING:
    from .chart import Chart
    from .store import Store

__all__ = ["main"]


def _chart_files(command: str, paths: list[str], verb: str) -> list[Path] | None:
    """The chart files named by the PATH arguments, or under ``charts/`` when there are none;
    ``None``, after saying why, when they name no chart (exit code 2)."""
    from .lint import LintUsageError, chart_files

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


def _lint(args: argparse.Namespace) -> int:
    from .lint import lint_files

    files = _chart_files("lint", args.paths, "check")
    if files is None:
        return 2
    report = lint_files(files)
    text = report.render(args.format)
    if text:
        print(text)
    return 1 if report.failed(Severity(args.fail_level)) else 0


def _test(args: argparse.Namespace) -> int:
    import json
    import time

    from .chart import load_chart
    from .errors import ChartError

    try:
        from .testing import Result, check_chart
        from .testing.harness import InvariantError, load_invariant
        from .testing.report import json_report, text_report
    except ImportError as e:
        print(f"actorkit test: {e}", file=sys.stderr)
        return 2
    from .coverage import Coverage, write_coverage

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


def _one_chart(command: str, path: str) -> Chart | int:
    """The chart a command names, or its exit code after saying why it cannot have it: 2 for
    no such file, 1 for a chart with errors."""
    from .chart import load_chart
    from .errors import ChartError

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


def _graph(args: argparse.Namespace) -> int:
    import json

    from . import graph
    from .errors import GraphError

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


def _types(args: argparse.Namespace) -> int:
    from .codegen import generate_types, same_types, write_types

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


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _missing_extra(command: str, error: ImportError) -> int:
    print(f"actorkit {command} needs the server extra: pip install 'actorkit[server]' ({error})",
          file=sys.stderr)
    return 2


def _serve(args: argparse.Namespace) -> int:
    import os

    try:
        import uvicorn

        from .server import resolve_secret
        from .server.app import check_address, signs_with_development_secret
        from .server.inspector import enabled
        from .server.protocol import PATH, connection_cap, raise_open_files_limit
    except ImportError as e:
        return _missing_extra("serve", e)
    from .errors import ActorkitError, ChartError
    from .limits import Limits
    from .lint import load_charts
    from .store.default import store_location

    project = Path(args.project).resolve()
    dev = not args.production and args.host in _LOOPBACK
    if args.store:
        os.environ["ACTORKIT_STORE"] = args.store  # for the app uvicorn makes (each worker's)
    where = store_location(project)
    if args.workers > 1 and not isinstance(where, str):  # a SQLite file, not a URL
        print(f"actorkit serve: --workers {args.workers} needs a PostgreSQL store (--store "
              f"postgresql://...): a SQLite file is held by one process. Serve with one "
              f"worker, or put the actors in PostgreSQL", file=sys.stderr)
        return 2
    if args.workers > 1 and args.reload:
        print("actorkit serve: --reload runs one process: drop --workers", file=sys.stderr)
        return 2
    try:
        limits = Limits.from_env()  # a limit set wrong stops the server before it starts
        charts = load_charts([project / "charts"])
        had_secret = bool(os.environ.get("ACTOR_KIT_SECRET"))
        secret = resolve_secret(project, None, dev=dev)
        check_address(args.host, args.port)
        inspector = enabled(development_secret=signs_with_development_secret(
            project, secret, dev=dev))
    except ChartError as e:
        print(e, file=sys.stderr)
        print("actorkit serve: fix the charts above first (actorkit lint shows them too)",
              file=sys.stderr)
        return 1
    except ActorkitError as e:
        print(f"actorkit serve: {e}", file=sys.stderr)
        return 2
    os.environ.update(ACTORKIT_PROJECT=str(project), ACTOR_KIT_SECRET=secret,
                      ACTORKIT_DEV="1" if dev else "0")
    base = f"http://{args.host}:{args.port}{args.prefix}"
    workers = f" in {args.workers} processes" if args.workers > 1 else ""
    print(f"actorkit serving {', '.join(sorted(charts))} at {base}/{{actor_type}}/{{actor_id}}"
          f"{workers}, actors in {_store_name(where)}")
    if inspector:
        print(f"inspector: http://{args.host}:{args.port}/_inspect/")
    if not had_secret:
        example = sorted(charts)[0]
        print(f"development secret: random, kept in {project / '.actorkit' / 'dev-secret'} "
              f"(set ACTOR_KIT_SECRET for anything but development)\n"
              f"a token to try: actorkit token --type {example} --id demo --caller client:me")
    soft, hard = raise_open_files_limit()
    cap = connection_cap(limits, soft)
    if cap < limits.max_connections:
        print(f"actorkit serve: the open-files limit is {soft:,} (hard limit {hard:,}), so the "
              f"server holds at most {cap:,} connections, not {limits.max_connections:,} "
              f"(ACTORKIT_MAX_CONNECTIONS); raise the hard limit for more (`ulimit -Hn` as "
              f"root, or LimitNOFILE= in a systemd unit)", file=sys.stderr)
    watch: dict[str, Any] = {}
    if args.reload:
        from .server import reload

        watch = {"reload_dirs": [str(f) for f in reload.folders(project, charts.values())],
                 "reload_includes": reload.PATTERNS, "reload_excludes": reload.excluded(project)}
    app = "actorkit.server.reload:reloaded_app" if args.reload else "actorkit.server:create_app"
    # The protocol holds request heads, idle connections and their number to the limits.
    try:
        uvicorn.run(app, factory=True, host=args.host, port=args.port, reload=args.reload,
                    workers=args.workers if args.workers > 1 else None,
                    **watch, log_level=args.log_level, http=PATH, ws_max_size=limits.max_body,
                    # seconds, as uvicorn uses it (asyncio.timeout), though typed as int there
                    timeout_graceful_shutdown=limits.stop_grace)  # type: ignore[arg-type]
    except ActorkitError as e:  # the app could not be made: its store is taken, say
        print(f"actorkit serve: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:
        # uvicorn exits 1 or 3 when it cannot start (it has logged why): 2, as the help says
        if e.code in (None, 0):
            return 0
        print("actorkit serve: the server could not start (see above)", file=sys.stderr)
        return 2
    return 0


def _token(args: argparse.Namespace) -> int:
    import os

    from .events import Caller

    try:
        from .auth import create_access_token
    except ImportError as e:
        return _missing_extra("token", e)
    secret = args.secret or os.environ.get("ACTOR_KIT_SECRET")
    if not secret:
        file = Path(args.project) / ".actorkit" / "dev-secret"
        if file.is_file():
            secret = file.read_text().strip()
    if not secret:
        print("actorkit token: no secret: set ACTOR_KIT_SECRET (or run `actorkit serve` once "
              "here to make the development secret)", file=sys.stderr)
        return 2
    try:
        caller = Caller.parse(args.caller)
        if caller.type in ("system", "actor"):
            raise ValueError(f"tokens are for client or service callers, not {caller.type}")
        print(create_access_token(secret, args.id, args.type, caller.id, caller.type,
                                  expires_in=_duration(args.expires)))
    except ValueError as e:
        print(f"actorkit token: {e}", file=sys.stderr)
        return 2
    return 0


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise ValueError(f"--expires takes e.g. 3600, 90m, 12h or 30d, not {text!r}") from None
    if value <= 0:
        raise ValueError("--expires must be positive")
    return value


def _store_name(where: str | Path) -> str:
    """An actor store's location (:func:`~actorkit.store.default.store_location`) as
    messages name it (a URL without its password)."""
    from .store.postgres import redact

    return redact(where) if isinstance(where, str) else str(where)


async def _open_project(command: str, args: argparse.Namespace, *, lock: bool = True,
                        ) -> tuple[dict[str, Chart], Store] | None:
    """The project's charts and its actor store, or ``None`` after saying why not. ``lock``:
    hold a SQLite store as a server does (to write to it); else read it beside a running
    one."""
    from .errors import ChartError
    from .lint import load_charts
    from .store import StoreError
    from .store.default import open_store, store_location

    where = store_location(args.project, args.db)
    if isinstance(where, Path) and not where.is_file():
        print(f"actorkit {command}: no actor store at {where} (give --db)", file=sys.stderr)
        return None
    try:
        return load_charts([Path(args.project) / "charts"]), open_store(args.project, args.db,
                                                                         lock=lock)
    except (ChartError, StoreError) as e:
        print(f"actorkit {command}: {e}", file=sys.stderr)
        return None


def _on_store(command: str, args: argparse.Namespace,
              body: Callable[[dict[str, Chart], Store], Awaitable[int]], *,
              lock: bool = True) -> int:
    """Run ``body`` on the project's charts and actor store, then close the store; exit code
    2 when the store cannot be opened or read."""
    import asyncio

    from .store import StoreError

    async def run() -> int:
        opened = await _open_project(command, args, lock=lock)
        if opened is None:
            return 2
        charts, store = opened
        try:
            if args.type not in charts:
                print(f"actorkit {command}: no chart serves actor type {args.type!r}",
                      file=sys.stderr)
                return 2
            return await body(charts, store)
        except StoreError as e:
            print(f"actorkit {command}: {e}", file=sys.stderr)
            return 2
        finally:
            await store.close()

    return asyncio.run(run())


def _replay(args: argparse.Namespace) -> int:
    from .journal import ReplayError, verify
    from .store.default import store_location

    db = _store_name(store_location(args.project, args.db))

    async def replay(charts: dict[str, Chart], store: Store) -> int:
        chart = charts[args.type]
        if args.to is not None:
            return await replay_to(chart, store)
        ids = [args.id] if args.id else await _all_ids(store, args.type)
        if not ids:
            print(f"actorkit replay: no {args.type} actors in {db}", file=sys.stderr)
            return 2
        code = 0
        for actor_id in ids:
            stored = await store.load(args.type, actor_id)
            if stored is None:
                print(f"actorkit replay: {args.type}/{actor_id} is not in {db}",
                      file=sys.stderr)
                return 2
            try:
                verdict = await verify(store, chart, stored)
            except ReplayError as e:
                print(f"actorkit replay: {e}", file=sys.stderr)
                code = 1 if stored.version == chart.version else max(code, 2)
                continue
            since = (f" (from its migration at step {verdict.since})"
                     if verdict.since is not None else "")
            print(f"{args.type}/{actor_id}: {verdict.entries} journal entries{since} "
                  f"replayed to step {verdict.seq}; stored state {verdict.stored[:16]}, "
                  f"replayed {verdict.rebuilt[:16]}: "
                  f"{'the same' if verdict.same else 'DIFFERENT'}")
            if verdict.difference is not None:
                print(f"  first difference at "
                      f"{verdict.difference.describe('replayed', 'stored')}")
            if not verdict.same:
                code = 1
        return code

    async def replay_to(chart: Chart, store: Store) -> int:
        """Print the actor as it was after step ``args.to``, rebuilt from its journal."""
        import json

        from .journal import replay as rebuild
        from .journal import up_to

        if not args.id:
            print("actorkit replay: --to needs an actor: actorkit replay TYPE ID --to STEP",
                  file=sys.stderr)
            return 2
        journal = await up_to(store, args.type, args.id, args.to)
        if not journal or journal[-1].seq != args.to:
            last = f"its last step is {journal[-1].seq}" if journal else "it has no journal"
            print(f"actorkit replay: {args.type}/{args.id} has no step {args.to} in {db} "
                  f"({last})", file=sys.stderr)
            return 2
        try:
            actor = rebuild(chart, args.id, journal)
        except ReplayError as e:
            print(f"actorkit replay: {e}", file=sys.stderr)
            return 1
        print(json.dumps({"seq": actor.seq, "value": actor.value, "context": actor.context},
                         sort_keys=True))
        return 0

    # Read beside a running server: replay writes nothing.
    return _on_store("replay", args, replay, lock=False)


def _quarantine(args: argparse.Namespace) -> int:
    from .errors import utc_time
    from .runtime import ActorSystem, NotQuarantined

    if args.action == "lift" and not args.id:
        print("actorkit quarantine: lift which actor? actorkit quarantine lift TYPE ID",
              file=sys.stderr)
        return 2

    async def quarantine(charts: dict[str, Chart], store: Store) -> int:
        system = ActorSystem(charts, store=store)
        if args.action == "lift":
            try:
                seq = await system.release(args.type, args.id)
            except NotQuarantined as e:
                print(f"actorkit quarantine: {e}", file=sys.stderr)
                return 1
            print(f"{args.type}/{args.id}: quarantine lifted (journal step {seq}); it is "
                  f"brought back when the server next starts")
            return 0
        found = 0
        for actor_id in [args.id] if args.id else await _all_ids(store, args.type):
            info = await system.quarantine_of(args.type, actor_id)
            if info is not None:
                found += 1
                print(f"{args.type}/{actor_id}: quarantined since "
                      f"{utc_time(float(info['since']))}: {info['reason']}")
        if not found:
            print(f"no {args.type} actor is quarantined")
        return 0

    return _on_store("quarantine", args, quarantine)


async def _all_ids(store: Store, actor_type: str) -> list[str]:
    ids: list[str] = []
    while True:
        more = await store.actor_ids(actor_type, after=ids[-1] if ids else "", limit=1000)
        ids.extend(more)
        if len(more) < 1000:
            return ids


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, not {value}")
    return value


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

    test = sub.add_parser(
        "test", help="property-test charts with generated runs (default: charts/)",
        description="Run each chart's actor through generated runs (events from every kind of "
                    "caller, time passing, bad events, restores, connections) and check what "
                    "must always hold after every step. A failure is shrunk to a shortest run "
                    "and printed with a pytest test that reproduces it. Exit 0 every property "
                    "held, 1 one broke, 2 could not run.")
    test.add_argument("paths", nargs="*", metavar="PATH", help="chart files or folders")
    test.add_argument("--max-examples", type=_positive_int, default=100, metavar="N",
                      help="runs per chart (default: 100)")
    test.add_argument("--steps", type=_positive_int, default=50, metavar="N",
                      help="most steps per run (default: 50)")
    test.add_argument("--seed", type=int, help="repeat the runs of an earlier seed")
    test.add_argument("--format", choices=("text", "json"), default="text")
    test.add_argument("--coverage", metavar="FILE",
                      help="write the states entered and transitions taken, per chart, to "
                           "FILE as JSON (what actorkit graph --coverage reads)")
    test.add_argument("--invariant", action="append", default=[], metavar="MODULE:FUNCTION",
                      help="also check FUNCTION(actor) after every step: it breaks when it "
                           "returns False or raises AssertionError (repeatable)")
    test.add_argument("--no-steer", action="store_true",
                      help="do not steer the runs towards states and transitions earlier "
                           "runs did not reach")
    test.set_defaults(run=_test)

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

    graph = sub.add_parser(
        "graph", help="draw a chart: Mermaid, Graphviz DOT, SVG or JSON",
        description="Print a chart's states and transitions as a Mermaid stateDiagram (paste it "
                    "into Markdown), Graphviz DOT, SVG (drawn by Graphviz's dot, when it is "
                    "installed) or JSON. Labels read `event [guard] / action`; eventless and "
                    "timer transitions say so (dashed in DOT and SVG) and internal ones are "
                    "listed inside their state, marked ↺. Exit 0 drawn, 1 the chart has errors, "
                    "2 could not draw.")
    graph.add_argument("chart", help="the chart file")
    graph.add_argument("--format", choices=("mermaid", "dot", "svg", "json"), default="mermaid",
                       help="what to print (default: mermaid)")
    graph.add_argument("--state", metavar="STATE",
                       help="highlight a configuration: the state value as GET /api/TYPE/ID "
                            "shows it (JSON), or state names separated by commas")
    graph.add_argument("--coverage", metavar="FILE",
                       help="colour what a coverage file (actorkit test --coverage FILE) "
                            "reached green and what it never reached red")
    graph.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    graph.set_defaults(run=_graph)

    types = sub.add_parser(
        "types", help="write a chart's types for front ends (TypeScript) or hooks (Python)",
        description="Write the types of a chart's events (by caller type, and its output "
                    "events), its input, its context, its state values and a caller's "
                    "snapshot, from its schemas file and states: TypeScript for Actor Kit's "
                    "createActorKitClient and createActorFetch, or Python TypedDicts. The same "
                    "chart always gives the same bytes. Exit 0 written (or current, with "
                    "--check), 1 the chart has errors (or the file is not current), 2 could "
                    "not run.")
    types.add_argument("chart", help="the chart file")
    types.add_argument("--lang", required=True, choices=("ts", "python"),
                       help="TypeScript or Python")
    types.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    types.add_argument("--check", action="store_true",
                       help="write nothing: exit 1 if FILE (-o) is not what would be written")
    types.set_defaults(run=_types)

    serve = sub.add_parser(
        "serve", help="serve every chart in charts/ over HTTP and WebSocket",
        description="Serve every chart of the project at /api/{actor_type}/{actor_id}. The "
                    "signing secret is ACTOR_KIT_SECRET; without it, on 127.0.0.1, a random "
                    "development secret is made and kept in .actorkit/dev-secret. Exit 1 when a "
                    "chart has errors, 2 when the server cannot start.")
    serve.add_argument("--project", default=".", help="the project folder (default: here)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--prefix", default="/api", help=argparse.SUPPRESS)
    serve.add_argument("--reload", action="store_true",
                       help="restart when hooks, charts or schemas change (for development)")
    serve.add_argument("--production", action="store_true",
                       help="refuse to start without ACTOR_KIT_SECRET (implied off 127.0.0.1)")
    serve.add_argument("--log-level", default="info",
                       choices=("critical", "error", "warning", "info", "debug"))
    serve.add_argument("--store", metavar="STORE",
                       help="where the actors are: a postgresql:// URL or a SQLite file "
                            "(default: ACTORKIT_STORE, ACTORKIT_DB, DATABASE_URL if PostgreSQL, "
                            "or .actorkit/actors.db)")
    serve.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                       help="serving processes on this machine (more than 1 needs a "
                            "PostgreSQL store)")
    serve.set_defaults(run=_serve)

    token = sub.add_parser("token", help="print an access token for trying things out",
                           description="Print an access token (Actor Kit's format) for one "
                                       "caller and one actor, signed with ACTOR_KIT_SECRET or "
                                       "the project's development secret.")
    token.add_argument("--type", required=True, help="the actor type, e.g. todo")
    token.add_argument("--id", required=True, help="the actor id, e.g. list-1")
    token.add_argument("--caller", required=True, help="client:<id> or service:<id>")
    token.add_argument("--expires", default="30d", help="lifetime: 3600, 90m, 12h, 30d")
    token.add_argument("--secret", help="the signing secret (default: ACTOR_KIT_SECRET)")
    token.add_argument("--project", default=".", help="where .actorkit/dev-secret is")
    token.set_defaults(run=_token)

    replay = sub.add_parser(
        "replay", help="rebuild an actor from its journal and compare with the stored state",
        description="Replay an actor's journal, from its creation, into a fresh actor of the "
                    "current chart, and check that it ends in the state the store has. Exit 0 "
                    "the same, 1 different (or the journal does not replay), 2 could not run "
                    "(or the actor waits for its migration).")
    replay.add_argument("type", help="the actor type")
    replay.add_argument("id", nargs="?", help="the actor id (default: every actor of the type)")
    replay.add_argument("--to", type=int, metavar="STEP",
                        help="print the actor (state value and context, as JSON) as it was "
                             "after journal step STEP, rebuilt from its journal")
    _store_options(replay)
    replay.set_defaults(run=_replay)

    quarantine = sub.add_parser(
        "quarantine", help="show quarantined actors, or lift a quarantine",
        description="An actor whose timer or lifecycle steps kept failing is quarantined: it "
                    "runs nothing until its quarantine is lifted. `show TYPE [ID]` lists the "
                    "quarantined actors of a type and why; `lift TYPE ID` lifts one (stop the "
                    "server first; while it runs, use DELETE /api/TYPE/ID/quarantine with a "
                    "service token). Exit 0 done, 1 not quarantined, 2 could not run.")
    quarantine.add_argument("action", choices=("show", "lift"))
    quarantine.add_argument("type", help="the actor type")
    quarantine.add_argument("id", nargs="?", help="the actor id (lift: required)")
    _store_options(quarantine)
    quarantine.set_defaults(run=_quarantine)

    rules = sub.add_parser("rules", help="list the lint rules")
    rules.set_defaults(run=_rules)

    schema = sub.add_parser("schema", help="print the JSON Schema of chart or schemas files",
                            description="Print a JSON Schema for editors (yaml-language-server "
                                        "modeline), or with --path where the package keeps it.")
    schema.add_argument("which", choices=("chart", "schemas"), nargs="?", default="chart")
    schema.add_argument("--path", action="store_true", help="print the file's path instead")
    schema.set_defaults(run=_schema)
    return parser


def _store_options(command: argparse.ArgumentParser) -> None:
    """The options of a command that opens a project's actor store (see _open_project)."""
    command.add_argument("--project", default=".", help="the project folder (default: here)")
    command.add_argument("--db", "--store", dest="db", metavar="STORE",
                         help="the actor store: a SQLite file or a postgresql:// URL (default: "
                              "ACTORKIT_STORE, ACTORKIT_DB, DATABASE_URL if PostgreSQL, or "
                              ".actorkit/actors.db)")


#: The exit code of a command whose output was cut off by a closed pipe (``| head``): what
#: the shell reports for a program SIGPIPE ends, as `yes | head` ends `yes`.
BROKEN_PIPE = 128 + 13


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed arguments; on an unknown one, the usage of the command it was given to (not
    of ``actorkit`` as a whole) and exit code 2."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands = next(action.choices for action in parser._actions
                        if isinstance(action, argparse._SubParsersAction))
        command = commands.get(args.command, parser) if args.command else parser
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``actorkit`` command line; returns the exit code."""
    parser = _parser()
    try:
        args = _parse(parser, argv)  # --help and --version print too
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 2
        code = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read the output has all they wanted: stop without a traceback, and point
        # stdout at nothing so that the interpreter's own flush at exit stays quiet too.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
