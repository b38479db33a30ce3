"""The generated types in the tools they are for: ``tsc`` (TypeScript 5.9, pinned in
tests/js/package-lock.json) types Actor Kit's own ``createActorKitClient`` and
``createActorFetch`` with them, and mypy checks hooks and an ``actorkit.client`` user with
them. A correct client compiles; each wrong event or field is an error at its line.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from node import npm_packages
from support import ROOT
from test_types import make

from actorkit import load_chart
from actorkit.codegen import generate_types

CLIENT = """\
import { createActorKitClient } from "actor-kit/browser";
import { createActorFetch } from "actor-kit/server";
import type * as Kinds from "./kinds";
import type { CallerSnapshot, ClientEvent, Machine, OutputEvent, StateValue } from "./todo";

const fetchTodo = createActorFetch<Machine>({ actorType: "todo", host: "127.0.0.1:8000" });

export async function start(actorId: string, accessToken: string): Promise<string[]> {
  const { snapshot, checksum } = await fetchTodo({
    actorId, accessToken, waitForEvent: { type: "ADD_TODO", text: "milk" } });
  const first: CallerSnapshot = snapshot;
  const client = createActorKitClient<Machine>({
    host: "127.0.0.1:8000", actorType: "todo", actorId, checksum, accessToken,
    initialSnapshot: snapshot });
  await client.connect();
  const events: ClientEvent[] = [
    { type: "ADD_TODO", text: "milk" },
    { type: "SET_FILTER", filter: "completed" },
  ];
  events.forEach((event) => client.send(event));
  client.send({ type: "TOGGLE_TODO", id: first.public.todos[0].id });
  const value: StateValue = client.getState().value;
  const ready: "Ready" = value.Initialization;
  const filter: "all" | "active" | "completed" = client.getState().private.filter;
  const added = (e: OutputEvent) => (e.type === "TODO_ADDED" ? e.todo.text : e.id);
  const point: Kinds.Point = { x: 0.5, y: 2 };
  return [ready, filter, added({ type: "TODO_REMOVED", id: "a" }), String(point.x)];
}
"""

# Each line marked `// error: <what tsc says>` must fail to compile, and nothing else.
WRONG = """\
import { createActorKitClient } from "actor-kit/browser";
import { createActorFetch } from "actor-kit/server";
import type { CallerSnapshot, Machine, StateValue } from "./todo";

declare const snapshot: CallerSnapshot;
const client = createActorKitClient<Machine>({
  host: "h", actorType: "todo", actorId: "a", checksum: "", accessToken: "t",
  initialSnapshot: snapshot });
client.send({ type: "ADD_TODO" });  // error: Property 'text' is missing
client.send({ type: "ADD_TODO", text: 1 });  // error: 'number' is not assignable to type 'string'
client.send({ type: "ADD_TODOS", text: "milk" });  // error: Type '"ADD_TODOS"' is not assignable
client.send({ type: "SYNC_TODOS", todos: [] });  // error: Type '"SYNC_TODOS"' is not assignable
client.send({ type: "SET_FILTER", filter: "done" });  // error: Type '"done"' is not assignable
client.send({ type: "REMOVE_TODO", id: "a", extra: true });  // error: 'extra' does not exist
const todos = client.getState().public.todo;  // error: Property 'todo' does not exist
const value: StateValue = { Initialization: "Busy", TodoList: {} };  // error: '"Busy"' is not
createActorFetch<Machine>({ actorType: "todo", host: "h" })({
  actorId: "a", accessToken: "t", waitForEvent: { type: "NOPE" } });  // error: '"NOPE"' is not
export { todos, value };
"""


def tsc(folder: Path, *files: str) -> subprocess.CompletedProcess[str]:
    modules = npm_packages()
    if not (folder / "node_modules").exists():
        (folder / "node_modules").symlink_to(modules)
    # actor-kit/server ships TypeScript sources written against Cloudflare's Workers types
    return subprocess.run(
        ["node", str(modules / "typescript" / "bin" / "tsc"), "--noEmit", "--strict",
         "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
         "--skipLibCheck", "--types", "@cloudflare/workers-types", *files],
        cwd=folder, capture_output=True, text=True, timeout=300, check=False)


def expected_errors(source: str) -> dict[int, str]:
    return {n: line.split("// error: ")[1] for n, line in enumerate(source.splitlines(), 1)
            if "// error: " in line}


def found_errors(output: str, file: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for match in re.finditer(rf"^{re.escape(file)}\((\d+),\d+\): error (TS\d+: .*(?:\n .*)*)",
                             output, re.MULTILINE):
        found.setdefault(int(match.group(1)), "")
        found[int(match.group(1))] += match.group(2)
    return found


@pytest.fixture
def front_end(tmp_path: Path) -> Path:
    (tmp_path / "todo.ts").write_text(generate_types(load_chart(ROOT / "charts/todo.yaml"), "ts"))
    (tmp_path / "kinds").mkdir()
    kinds = load_chart(make(tmp_path / "kinds"))
    (tmp_path / "kinds.ts").write_text(generate_types(kinds, "ts"))
    (tmp_path / "auction.ts").write_text(
        generate_types(load_chart(ROOT / "charts/auction.yaml"), "ts"))
    return tmp_path


def test_actor_kits_client_and_fetch_typed_with_the_generated_types_compile(
        front_end: Path) -> None:
    (front_end / "client.ts").write_text(CLIENT)

    run = tsc(front_end, "client.ts", "auction.ts")

    assert run.returncode == 0, run.stdout + run.stderr


def test_a_wrong_event_or_field_fails_to_compile_where_it_is(front_end: Path) -> None:
    (front_end / "wrong.ts").write_text(WRONG)

    run = tsc(front_end, "wrong.ts")

    assert run.returncode == 2
    found = found_errors(run.stdout, "wrong.ts")
    expected = expected_errors(WRONG)
    assert sorted(found) == sorted(expected), run.stdout
    for line, says in expected.items():
        assert says in found[line], (line, found[line])


HOOKS = """\
from typing import Any, cast

from actorkit import Ctx
from actorkit.client import ActorClient
from todo_types import (
    CallerSnapshot,
    ClientAddTodoData,
    ClientAddTodoEvent,
    OutputTodoAddedData,
    PublicContext,
    Todo,
)


def add_todo(ctx: Ctx, event: Any) -> None:
    data = cast(ClientAddTodoData, event.data)
    public: PublicContext = ctx.public
    todo: Todo = {"id": ctx.new_id(), "text": data["text"], "completed": False}
    public["todos"].append(todo)
    added: OutputTodoAddedData = {"todo": todo}
    ctx.emit("TODO_ADDED", **added)


async def add_milk(client: ActorClient) -> bool:
    event: ClientAddTodoEvent = {"type": "ADD_TODO", "text": "milk"}
    await client.send(event)
    view = cast(CallerSnapshot, (await client.fetch()).view)
    return view["private"]["filter"] == "all"
"""


def mypy(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(folder / ".mypy_cache"), "hooks_typed.py"],
        cwd=folder, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture
def hooks(tmp_path: Path) -> Path:
    (tmp_path / "todo_types.py").write_text(
        generate_types(load_chart(ROOT / "charts/todo.yaml"), "python"))
    return tmp_path


def test_hooks_and_a_client_typed_with_the_generated_types_pass_mypy(hooks: Path) -> None:
    (hooks / "hooks_typed.py").write_text(HOOKS)

    run = mypy(hooks)

    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize(("wrong", "says"), [
    (('"id": ctx.new_id()', '"id": 1'),
     'Incompatible types (expression has type "int", TypedDict item "id" has type "str")'),
    (('data["text"]', 'data["txt"]'), 'TypedDict "ClientAddTodoData" has no key "txt"'),
    (('{"type": "ADD_TODO", "text": "milk"}', '{"type": "ADD_TODOS", "text": "milk"}'),
     "has type \"Literal['ADD_TODOS']\""),
    (('== "all"', '== "done"'), "Non-overlapping equality check"),
    (('{"todo": todo}', '{"todo": todo, "at": 1}'), 'Extra key "at"'),
])
def test_a_wrong_field_type_or_misspelled_key_fails_mypy(hooks: Path, wrong: tuple[str, str],
                                                         says: str) -> None:
    assert wrong[0] in HOOKS
    (hooks / "hooks_typed.py").write_text(HOOKS.replace(*wrong))

    run = mypy(hooks)

    assert run.returncode == 1
    assert says in run.stdout, run.stdout
    assert run.stdout.count(": error:") == 1, run.stdout


def readme_sample(language: str) -> str:
    section = (ROOT / "README.md").read_text().split("## Types for front ends and hooks")[1]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_the_readmes_typescript_sample_compiles(tmp_path: Path) -> None:
    (tmp_path / "types").mkdir()
    (tmp_path / "types" / "todo.ts").write_bytes((ROOT / "types" / "todo.ts").read_bytes())
    sample = readme_sample("ts")
    (tmp_path / "app.ts").write_text(sample)

    assert tsc(tmp_path, "app.ts").returncode == 0
    # and the event its comment says does not compile does not
    (tmp_path / "app.ts").write_text(sample.replace(', text: "Buy milk" }', " }"))
    wrong = tsc(tmp_path, "app.ts")
    assert wrong.returncode == 2
    assert "Property 'text' is missing" in wrong.stdout


def test_the_readmes_python_sample_passes_mypy(tmp_path: Path) -> None:
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "todo_types.py").write_bytes(
        (ROOT / "hooks" / "todo_types.py").read_bytes())
    sample = readme_sample("python")
    (tmp_path / "hooks_typed.py").write_text(sample)

    assert mypy(tmp_path).returncode == 0, mypy(tmp_path).stdout
    (tmp_path / "hooks_typed.py").write_text(sample.replace('data["text"]', 'data["txt"]'))
    assert mypy(tmp_path).returncode == 1
