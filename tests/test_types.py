"""``actorkit types``: a chart's schemas and states as TypeScript and Python types.

Each JSON Schema construct is checked in the declaration it becomes in both languages, the
output is checked to be the same bytes whatever the order of the schemas file, and the
command is run for real (its exit codes, ``-o`` and ``--check``). tests/test_types_tools.py
compiles the output with tsc and mypy.
"""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
from support import ROOT, run_actorkit

from actorkit import load_chart
from actorkit.codegen import generate_types

CHART = """\
actor: kinds
schemas: kinds.schemas.yaml
statechart:
  name: kinds
  root state:
    name: root
    initial: idle
    states:
      - name: idle
        transitions: [{event: GO, target: busy}, {event: ODD, target: done}]
      - name: busy
        parallel states:
          - name: left
            initial: a
            states: [{name: a}, {name: b}]
          - name: right
      - name: done
        type: final
"""

SCHEMAS = """\
definitions:
  alias: {anyOf: [{$ref: "#/definitions/point"}, {type: "null"}]}
  nest: {type: array, items: {anyOf: [{$ref: "#/definitions/nest"}, {type: integer}]}}
  point:
    type: object
    properties: {x: {type: number}, y: {type: integer}}
    required: [x, y]
    additionalProperties: false
  tree:
    type: object
    properties: {children: {type: array, items: {$ref: "#/definitions/tree"}}}
client:
  GO:
    properties:
      name: {type: string, description: who goes}
      count: {type: integer}
      ratio: {type: number}
      flag: {type: boolean}
      mode: {enum: [fast, slow, 3, null]}
      level: {enum: [0.5, 1]}
      kind: {const: cell}
      tags: {type: array, items: {type: string}}
      maybe: {type: [string, "null"]}
      either: {anyOf: [{type: string}, {$ref: "#/definitions/point"}]}
      at: {$ref: "#/definitions/point"}
      scores: {type: object, additionalProperties: {type: integer}}
      anything: {type: object}
      closed: {type: object, additionalProperties: false}
      pair: {type: array, items: [{type: string}, {type: integer}]}
      elsewhere: {$ref: "#/definitions/point/properties/x"}
      both: {allOf: [{$ref: "#/definitions/point"}, {properties: {z: {type: number}}}]}
      nested: {type: object, properties: {inner: {type: string}}, required: [inner]}
      picked: {type: string, enum: [a, 1]}
      shape: {enum: [{x: 1}]}
    required: [name, at]
service:
  ODD:
    properties:
      odd-key: {type: string}
      class: {type: integer}
    required: [odd-key]
output:
  DONE:
"""


def make(tmp_path: Path, schemas: str = SCHEMAS, chart: str = CHART) -> Path:
    (tmp_path / "kinds.yaml").write_text(chart)
    (tmp_path / "kinds.schemas.yaml").write_text(schemas)
    return tmp_path / "kinds.yaml"


def block(text: str, start: str) -> str:
    """The declaration that begins with the line ``start``, up to the next blank line."""
    begin = text.index(start + "\n")
    return text[begin:text.index("\n\n", begin)]


def test_each_schema_construct_in_typescript(tmp_path: Path) -> None:
    ts = generate_types(load_chart(make(tmp_path)), "ts")

    assert block(ts, "export type ClientGoEvent = {") == textwrap.dedent("""\
        export type ClientGoEvent = {
          type: "GO";
          anything?: { [key: string]: unknown };
          at: Point;
          both?: Point & ClientGoEventBothPart2;
          closed?: Record<string, never>;
          count?: number;
          either?: string | Point;
          elsewhere?: unknown;
          flag?: boolean;
          kind?: "cell";
          level?: 0.5 | 1;
          maybe?: string | null;
          mode?: "fast" | "slow" | 3 | null;
          /** who goes */
          name: string;
          nested?: ClientGoEventNested;
          pair?: unknown[];
          picked?: "a";
          ratio?: number;
          scores?: { [key: string]: number };
          shape?: unknown;
          tags?: string[];
        };""")
    assert block(ts, "export type ClientGoEventNested = {") == textwrap.dedent("""\
        export type ClientGoEventNested = {
          inner: string;
          [key: string]: unknown;
        };""")
    assert block(ts, "export type Point = {") == textwrap.dedent("""\
        export type Point = {
          x: number;
          y: number;
        };""")
    assert block(ts, "export type Tree = {") == textwrap.dedent("""\
        export type Tree = {
          children?: Tree[];
          [key: string]: unknown;
        };""")
    assert "export type Alias = Point | null;" in ts
    assert "export type Nest = (Nest | number)[];" in ts
    assert block(ts, "export type ServiceOddEvent = {") == textwrap.dedent("""\
        export type ServiceOddEvent = {
          type: "ODD";
          class?: number;
          "odd-key": string;
        };""")
    assert block(ts, "export type OutputDoneEvent = {") == textwrap.dedent("""\
        export type OutputDoneEvent = {
          type: "DONE";
        };""")
    # no input schema: only the empty object
    assert "export type Input = Record<string, never>;" in ts
    # no public or private schema: any object
    assert "export type PublicContext = unknown;" in ts


def test_state_values_are_the_charts_states_in_the_shape_of_the_wire(tmp_path: Path) -> None:
    ts = generate_types(load_chart(make(tmp_path)), "ts")
    py = generate_types(load_chart(make(tmp_path)), "python")

    # an atomic child is its name, a compound or parallel one an object; atomic regions `{}`
    assert 'export type StateValue = "done" | "idle" | StateValueBusy;' in ts
    assert block(ts, "export type StateValueBusy = {") == \
        "export type StateValueBusy = {\n  busy: StateValueBusyRegions;\n};"
    assert block(ts, "export type StateValueBusyRegions = {") == textwrap.dedent("""\
        export type StateValueBusyRegions = {
          left: "a" | "b";
          right: Record<string, never>;
        };""")
    assert 'StateValue: TypeAlias = Literal["done", "idle"] | StateValueBusy' in py
    assert block(py, "class StateValueBusyRegions(TypedDict):") == textwrap.dedent("""\
        class StateValueBusyRegions(TypedDict):
            left: Literal["a", "b"]
            right: dict[str, Never]""")


def test_each_schema_construct_in_python(tmp_path: Path) -> None:
    py = generate_types(load_chart(make(tmp_path)), "python")

    assert block(py, "class ClientGoData(TypedDict):") == textwrap.dedent("""\
        class ClientGoData(TypedDict):
            anything: NotRequired[dict[str, Any]]
            at: Point
            both: NotRequired[Point]
            closed: NotRequired[dict[str, Never]]
            count: NotRequired[int]
            either: NotRequired[str | Point]
            elsewhere: NotRequired[Any]
            flag: NotRequired[bool]
            kind: NotRequired[Literal["cell"]]
            level: NotRequired[float | Literal[1]]
            maybe: NotRequired[str | None]
            mode: NotRequired[Literal["fast", "slow", 3] | None]
            # who goes
            name: str
            nested: NotRequired[ClientGoEventNested]
            pair: NotRequired[list[Any]]
            picked: NotRequired[Literal["a"]]
            ratio: NotRequired[float]
            scores: NotRequired[dict[str, int]]
            shape: NotRequired[Any]
            tags: NotRequired[list[str]]""")
    assert block(py, "class ClientGoEvent(ClientGoData):") == \
        'class ClientGoEvent(ClientGoData):\n    type: Literal["GO"]'
    # keys that are not Python names: the functional form
    assert block(py, 'ServiceOddData = TypedDict("ServiceOddData", {') == textwrap.dedent("""\
        ServiceOddData = TypedDict("ServiceOddData", {
            "class": NotRequired[int],
            "odd-key": str,
        })""")
    # each declaration after those it names (the module runs from the top), and a
    # reference that closes a cycle quoted
    assert py.index("class Point(TypedDict):") < py.index("Alias: TypeAlias = Point | None")
    assert 'Nest: TypeAlias = "list[Nest | int]"' in py
    assert block(py, "class Tree(TypedDict):") == \
        'class Tree(TypedDict):\n    children: NotRequired["list[Tree]"]'
    assert "ClientEvent: TypeAlias = ClientGoEvent\n" in py
    assert "OutputEvent: TypeAlias = OutputDoneEvent\n" in py


def test_the_python_module_imports_and_lists_its_names(tmp_path: Path) -> None:
    file = tmp_path / "kinds_types.py"
    file.write_text(generate_types(load_chart(make(tmp_path)), "python"))
    spec = importlib.util.spec_from_file_location("kinds_types", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert {"ClientGoEvent", "ClientGoData", "ServiceOddEvent", "StateValue", "CallerSnapshot",
            "Point", "Tree", "ClientEvent", "OutputEvent"} <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)
    assert module.ClientGoEvent.__required_keys__ == {"type", "name", "at"}
    assert module.ServiceOddData.__optional_keys__ == {"class"}


def test_the_same_chart_gives_the_same_bytes_whatever_the_order_of_its_schemas(
        tmp_path: Path) -> None:
    (tmp_path / "one" / "a").mkdir(parents=True)
    (tmp_path / "two" / "a").mkdir(parents=True)
    first = make(tmp_path / "one" / "a")
    # the same schemas with the sections and the fields of GO written in the opposite order
    lines = SCHEMAS.splitlines()
    client, go, end = (lines.index("client:"), lines.index("  GO:") + 2,
                       lines.index("    required: [name, at]"))
    reordered = "\n".join([*lines[end + 1:], *lines[client:go], *reversed(lines[go:end]),
                           lines[end], *lines[:client]]) + "\n"
    second = make(tmp_path / "two" / "a", schemas=reordered)
    assert load_chart(second).schemas.definitions == load_chart(first).schemas.definitions

    for lang in ("ts", "python"):
        once = generate_types(load_chart(first), lang)  # type: ignore[arg-type]
        assert generate_types(load_chart(first), lang) == once  # type: ignore[arg-type]
        assert generate_types(load_chart(second), lang) == once  # type: ignore[arg-type]
        # the header names the chart without a time or a path from elsewhere
        assert 'Types of the actor "kinds" from a/kinds.yaml and a/kinds.schemas.yaml, ' \
               'generated by `actorkit types`: do not edit.' in once.splitlines()[0]


@pytest.mark.parametrize(("chart", "lang", "file"), [
    ("charts/todo.yaml", "ts", "types/todo.ts"),
    ("charts/todo.yaml", "python", "hooks/todo_types.py"),
    ("charts/auction.yaml", "ts", "types/auction.ts"),
    ("charts/auction.yaml", "python", "hooks/auction_types.py"),
    ("charts/lobby.yaml", "ts", "types/lobby.ts"),
    ("charts/lobby.yaml", "python", "hooks/lobby_types.py"),
    ("charts/room.yaml", "ts", "types/room.ts"),
    ("charts/room.yaml", "python", "hooks/room_types.py"),
    ("charts/checkout.yaml", "ts", "types/checkout.ts"),
    ("charts/checkout.yaml", "python", "hooks/checkout_types.py"),
])
def test_the_committed_types_of_the_example_charts_are_current(chart: str, lang: str,
                                                               file: str) -> None:
    run = run_actorkit("types", chart, "--lang", lang, "-o", file, "--check")

    assert run.returncode == 0, run.stderr
    assert run.stdout == run.stderr == ""


def test_cli_prints_writes_and_checks(tmp_path: Path) -> None:
    chart = make(tmp_path)
    out = tmp_path / "kinds.ts"

    printed = run_actorkit("types", chart, "--lang", "ts")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == generate_types(load_chart(chart), "ts")

    wrote = run_actorkit("types", chart, "--lang", "ts", "-o", out)
    assert (wrote.returncode, wrote.stdout, wrote.stderr) == (0, "", "")
    assert out.read_text() == printed.stdout
    assert run_actorkit("types", chart, "--lang", "ts", "-o", out, "--check").returncode == 0

    # the schemas change: the committed file is no longer current, and --check says so
    make(tmp_path, schemas=SCHEMAS.replace("count: {type: integer}", "count: {type: string}"))
    stale = run_actorkit("types", chart, "--lang", "ts", "-o", out, "--check")
    assert stale.returncode == 1
    assert stale.stderr == (f"actorkit types: {out} is not the types of {chart} as they are "
                            f"now: rewrite it with `actorkit types {chart} --lang ts -o {out}`\n")
    assert out.read_text() == printed.stdout  # --check writes nothing

    missing = run_actorkit("types", chart, "--lang", "ts", "-o", tmp_path / "no.ts", "--check")
    assert missing.returncode == 1
    assert "no.ts does not exist: write it with `actorkit types" in missing.stderr
    assert not (tmp_path / "no.ts").exists()


def test_cli_exit_codes_for_a_broken_chart_and_wrong_usage(tmp_path: Path) -> None:
    broken = make(tmp_path, chart=CHART.replace("target: busy", "target: bussy"))
    out = tmp_path / "kinds.py"

    run = run_actorkit("types", broken, "--lang", "python", "-o", out)
    assert run.returncode == 1
    assert "AK203 transition targets unknown state 'bussy'" in run.stderr
    assert f"actorkit types: {broken} has errors: fix them first" in run.stderr
    assert not out.exists()

    nothing = run_actorkit("types", tmp_path / "nope.yaml", "--lang", "ts")
    assert nothing.returncode == 2
    assert "no chart file" in nothing.stderr

    unchecked = run_actorkit("types", broken, "--lang", "ts", "--check")
    assert unchecked.returncode == 2
    assert "--check compares with a file: name it with -o FILE" in unchecked.stderr

    wrong = run_actorkit("types", broken, "--lang", "rust")
    assert wrong.returncode == 2
    assert "invalid choice: 'rust'" in wrong.stderr

    unwritable = run_actorkit("types", make(tmp_path), "--lang", "ts", "-o",
                              tmp_path / "no" / "such" / "kinds.ts")
    assert unwritable.returncode == 2
    assert "actorkit types: cannot write" in unwritable.stderr


def test_events_other_actors_may_send_are_typed_apart() -> None:
    room = load_chart(ROOT / "charts" / "room.yaml")
    ts = generate_types(room, "ts")
    py = generate_types(room, "python")

    assert "export type ActorStartEvent = {\n  type: \"START\";" in ts
    assert "export type ActorEvent = ActorStartEvent;" in ts
    assert "ActorStartEvent" not in ts.split("export type Machine")[1]  # not Actor Kit's
    assert "class ActorStartEvent(ActorStartData):" in py
    assert "ActorEvent: TypeAlias = ActorStartEvent" in py
