"""The ``actorkit`` command line's arguments: one subcommand per command module function."""

from __future__ import annotations

import argparse

from .. import __version__
from . import charts, serving, stores


def parser() -> argparse.ArgumentParser:
    """The parser of the whole command line, each subcommand set to run its function."""
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
    lint.set_defaults(run=charts.lint)

    test = sub.add_parser(
        "test", help="property-test charts with generated runs (default: charts/)",
        description="Run each chart's actor through generated runs (events from every kind of "
                    "caller, time passing, bad events, restores, connections) and check what "
                    "must always hold after every step. A failure is shrunk to a shortest run "
                    "and printed with a pytest test that reproduces it. Exit 0 every property "
                    "held, 1 one broke, 2 could not run.")
    test.add_argument("paths", nargs="*", metavar="PATH", help="chart files or folders")
    test.add_argument("--max-examples", type=positive_int, default=100, metavar="N",
                      help="runs per chart (default: 100)")
    test.add_argument("--steps", type=positive_int, default=50, metavar="N",
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
    test.set_defaults(run=charts.test)

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
    run.set_defaults(run=charts.run)

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
    graph.set_defaults(run=charts.graph)

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
    types.set_defaults(run=charts.types)

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
    serve.add_argument("--workers", type=positive_int, default=1, metavar="N",
                       help="serving processes on this machine (more than 1 needs a "
                            "PostgreSQL store)")
    serve.set_defaults(run=serving.serve)

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
    token.set_defaults(run=serving.token)

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
    store_options(replay)
    replay.set_defaults(run=stores.replay)

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
    store_options(quarantine)
    quarantine.set_defaults(run=stores.quarantine)

    rules = sub.add_parser("rules", help="list the lint rules")
    rules.set_defaults(run=charts.rules)

    schema = sub.add_parser("schema", help="print the JSON Schema of chart or schemas files",
                            description="Print a JSON Schema for editors (yaml-language-server "
                                        "modeline), or with --path where the package keeps it.")
    schema.add_argument("which", choices=("chart", "schemas"), nargs="?", default="chart")
    schema.add_argument("--path", action="store_true", help="print the file's path instead")
    schema.set_defaults(run=charts.schema)
    return parser


def store_options(command: argparse.ArgumentParser) -> None:
    """The options of a command that opens a project's actor store (see _open_project)."""
    command.add_argument("--project", default=".", help="the project folder (default: here)")
    command.add_argument("--db", "--store", dest="db", metavar="STORE",
                         help="the actor store: a SQLite file or a postgresql:// URL (default: "
                              "ACTORKIT_STORE, ACTORKIT_DB, DATABASE_URL if PostgreSQL, or "
                              ".actorkit/actors.db)")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, not {value}")
    return value
