"""Charts: a YAML file (settings, initial context, a sismic statechart) with its hooks module and
schemas file, checked and built once, then shared by every actor of that type.

``load_chart(path)`` returns a :class:`Chart` or raises :class:`~actorkit.ChartError` listing
every problem with its ``file:line:col``; ``inspect_chart(path)`` returns the diagnostics
(warnings included) without raising, which is what ``actorkit lint`` shows.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import keyword
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
from sismic.exceptions import StatechartError
from sismic.io.datadict import import_from_dict

from . import scxmltree
from .checks import ChartModel, Finding, sent_event_names
from .descriptors import descriptors, matches_any
from .diagnostics import Diagnostic, Severity
from .document import chart_schema, document_diagnostics
from .engine import FrozenStatechart, freeze
from .errors import ChartError
from .limits import parse_bytes
from .project import (
    display,
    find_upward,
    functions,
    import_hooks,
    module_file,
    raised_at,
    read_text,
)
from .schemas import ActorSchemas, schemas_from_source
from .source import Source, SourceError, load_yaml
from .statevalue import StateValue, state_value

__all__ = ["Chart", "Inspection", "chart_schema", "inspect_chart", "load_chart"]

HookFn = Callable[..., Any]
NodePath = tuple[str | int, ...]

_VALUE_CACHE = 4096
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CODE_KEYS = ("on entry", "on exit")


@dataclass(eq=False)
class Chart:
    """A loaded chart: one actor type, ready to spawn actors. Load it with :func:`load_chart`."""

    path: str
    actor_type: str
    version: int
    persisted: bool
    description: str | None
    statechart: FrozenStatechart
    schemas: ActorSchemas
    initial_context: dict[str, Any]
    hooks_module: ModuleType | None = None
    #: code string -> the hook functions it calls, for every piece of code that names hooks
    plans: dict[str, tuple[HookFn, ...]] = field(default_factory=dict)
    #: whether any state or transition has a sismic contract (checked only then)
    contracts: bool = False
    #: events some transition waits for (under ``scxml``: its event descriptors)
    handled_events: frozenset[str] = frozenset()
    #: the chart document with positions, for tools that point into it
    source: Source | None = field(default=None, repr=False)
    #: seconds one step's code may run (``None``: the server's default)
    deadline: float | None = None
    #: bytes an actor's state may take (``None``: the server's default)
    max_state: int | None = None
    #: the actor types whose ``ctx.tell()`` may spawn an actor of this chart that does not
    #: exist yet (the chart's ``spawned_by:``)
    spawned_by: frozenset[str] = frozenset()
    #: the chart file, absolute, and a digest of what was loaded (chart, schemas, hooks):
    #: a worker process loads the chart again and checks it is the same one
    file: str = ""
    fingerprint: str = ""
    #: how the statechart runs: ``sismic`` (sismic's semantics) or ``scxml`` (W3C SCXML)
    semantics: str = "sismic"
    # compiled inline code, shared by all actors of this chart
    code_cache: tuple[dict[str, Any], dict[str, Any]] = field(
        default_factory=lambda: ({}, {}), repr=False)

    def __post_init__(self) -> None:
        # canonical JSON (sorted keys): it is part of every view without a bucket of its own
        self.default_private = orjson.dumps(self.initial_context.get("private", {}),
                                            option=orjson.OPT_SORT_KEYS)
        self.hooks_file = getattr(self.hooks_module, "__file__", None)
        self._values: dict[frozenset[str], StateValue] = {}
        self._value_json: dict[int, tuple[StateValue, bytes]] = {}

    def value_of(self, configuration: Collection[str]) -> StateValue:
        """The XState state value of a configuration (memoised: configurations repeat)."""
        key = frozenset(configuration)
        value = self._values.get(key)
        if value is None:
            value = state_value(self.statechart, key)
            if len(self._values) < _VALUE_CACHE:
                self._values[key] = value
        return value

    def json_of(self, value: StateValue) -> bytes:
        """The canonical JSON of a state value, shared by every actor in that state."""
        found = self._value_json.get(id(value))
        if found is None or found[0] is not value:
            found = (value, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
            if len(self._value_json) < _VALUE_CACHE:
                self._value_json[id(value)] = found
        return found[1]

    def handles(self, event_type: str) -> bool:
        """Whether some transition of the chart waits for ``event_type`` (under ``scxml``:
        some event descriptor matches it)."""
        if event_type in self.handled_events:
            return True
        # `*` does not ask for the system events: a chart names those it wants.
        return self.semantics == "scxml" and matches_any(
            (d for d in self.handled_events if d != "*"), event_type)


@dataclass
class Inspection:
    """What :func:`inspect_chart` found: the chart (``None`` if it could not be built) and
    every diagnostic, errors and warnings."""

    path: str
    chart: Chart | None
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]


def load_chart(path: str | Path) -> Chart:
    """Load, check and build the chart at ``path``.

    Raises :class:`~actorkit.ChartError` with every error found (warnings do not stop it).
    """
    found = inspect_chart(path)
    if found.errors or found.chart is None:
        raise ChartError(found.errors or found.diagnostics)
    return found.chart


def inspect_chart(path: str | Path) -> Inspection:
    """Check the chart at ``path`` and build it if it has no errors; never raises for a
    problem in the chart, its hooks or its schemas."""
    return _Builder(Path(path), str(path)).run()


def _fingerprint(data: Any, schemas: Source | None, hooks_source: str | None) -> str:
    """A digest of everything a chart was built from: its document, its schemas and its
    hooks' source."""
    option = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    digest = hashlib.sha256(orjson.dumps(data, option=option, default=str))
    digest.update(orjson.dumps(schemas.data if schemas else None, option=option, default=str))
    digest.update((hooks_source or "").encode())
    return digest.hexdigest()


def _hook_names(code: Any) -> list[str] | None:
    """The hook names a piece of code consists of, or ``None`` if it is inline Python."""
    if isinstance(code, list):
        return [str(c) for c in code]
    if not isinstance(code, str):
        return None
    lines = [line.strip() for line in code.strip().splitlines()]
    if lines and all(_IDENT.match(n) and not keyword.iskeyword(n) for n in lines):
        return lines
    return None


def _code_text(code: Any) -> str:
    return "\n".join(code) if isinstance(code, list) else str(code)


class _Builder:
    def __init__(self, file: Path, display: str) -> None:
        self.file = file
        self.display = display
        self.hooks_file: str | None = None
        self.diags: list[Diagnostic] = []
        self.src: Source | None = None

    def at(self, node: NodePath, code: str, message: str, src: Source | None = None) -> None:
        src = src or self.src
        assert src is not None
        self.diags.append(Diagnostic(src.path, *src.at(node), code, message))

    def finding(self, f: Finding, schemas: ActorSchemas | None) -> None:
        if f.path and f.path[0] == "schemas" and schemas is not None and schemas.path:
            # Findings about declared events point into the schemas file.
            self.diags.append(Diagnostic(schemas.path, *self._schema_pos(f.path[1:]),
                                         f.code, f.message))
        elif f.in_hooks is not None and self.hooks_file is not None:
            self.diags.append(Diagnostic(self.hooks_file, *f.in_hooks, f.code, f.message))
        elif f.other is not None and self.src is not None:
            self.at(f.path, f.code, f"{f.message} (the other one is at line "
                                    f"{self.src.at(f.other)[0]})")
        else:
            self.at(f.path, f.code, f.message)

    def _schema_pos(self, node: NodePath) -> tuple[int, int]:
        src = self.schemas_src
        return src.key_at(node) if src is not None else (1, 1)

    def run(self) -> Inspection:
        try:
            self.src = load_yaml(self.file, self.display)
        except SourceError as e:
            self.diags.append(Diagnostic(self.display, *e.position, e.code, e.message))
            return self._done(None)
        data = self.src.data
        found = document_diagnostics(self.src)
        self.diags.extend(found)
        if found:
            return self._done(None)
        hooks = self._hooks(data)
        schemas = self._schemas(data)
        semantics = data.get("semantics", "sismic")
        model = ChartModel(data["statechart"], semantics=semantics)
        for f in model.structure():
            self.finding(f, schemas)
        statechart = None if self.diags_since_errors() else self._sismic(data, semantics)
        plans, inline = self._code(model, data, hooks)
        self._initial_context(data, schemas)
        hooks_path = getattr(hooks, "__file__", None)
        hooks_source = read_text(hooks_path) if hooks_path else None
        self.hooks_file = display(Path(hooks_path)) if hooks_source and hooks_path else None
        sent = sent_event_names(inline, hooks_source)
        for f in model.behaviour(schemas, sent):
            self.finding(f, schemas)
        chart = None
        if statechart is not None and schemas is not None and not self.diags_since_errors():
            chart = Chart(
                path=self.display,
                actor_type=data["actor"],
                version=data.get("version", 1),
                persisted=data.get("persisted", True),
                description=data.get("description"),
                statechart=statechart,
                schemas=schemas,
                initial_context=self._context(data),
                hooks_module=hooks,
                plans=plans,
                contracts=_has_contracts(model),
                handled_events=frozenset(
                    d for t in model.transitions() if t.event
                    for d in (descriptors(t.event) if semantics == "scxml" else (t.event,))),
                source=self.src,
                deadline=data.get("deadline"),
                max_state=_size(data.get("max_state")),
                spawned_by=frozenset(data.get("spawned_by") or ()),
                file=str(self.file.resolve()),
                fingerprint=_fingerprint(data, self.schemas_src, hooks_source),
                semantics=semantics,
            )
        return self._done(chart)

    def _done(self, chart: Chart | None) -> Inspection:
        # In file order: the chart's own problems first, then those in its schemas file.
        self.diags.sort(key=lambda d: (d.path != self.display, d.path, d.line, d.column))
        return Inspection(self.display, chart, self.diags)

    def diags_since_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diags)

    def _hooks(self, data: dict[str, Any]) -> ModuleType | None:
        dotted = data.get("hooks")
        if dotted is None:
            return None
        file = module_file(self.file.parent, dotted)
        if file is None:
            rel = Path(*dotted.split(".")).with_suffix(".py")
            self.at(("hooks",), "AK102",
                    f"hooks module {dotted!r} not found: create {rel.as_posix()} in the chart's "
                    f"folder or a folder above it (looked upwards from {self.file.parent})")
            return None
        try:
            return import_hooks(file, dotted)
        except (Exception, SystemExit) as e:
            line = e.lineno if isinstance(e, SyntaxError) else raised_at(e, file)
            where = f"{display(file)}{f', line {line}' if line else ''}"
            fix = ("fix it: lint imports the module to check the hook names, so importing it "
                   "must work without side effects that can fail")
            missing = getattr(e, "name", None) if isinstance(e, ModuleNotFoundError) else None
            package = dotted.rpartition(".")[0]
            if missing and package and missing.startswith(f"{package}."):
                fix = (f"hooks modules are loaded from their file, not from sys.path: import "
                       f"their neighbours relatively: `from .{missing[len(package) + 1:]} "
                       f"import ...`")
            self.at(("hooks",), "AK102", f"hooks module {dotted!r} fails to import ({where}): "
                                         f"{type(e).__name__}: {e}; {fix}")
            return None

    def _schemas(self, data: dict[str, Any]) -> ActorSchemas | None:
        self.schemas_src: Source | None = None
        rel = data.get("schemas")
        if rel is None:
            return ActorSchemas()
        file = find_upward(self.file.parent, Path(rel))
        if file is None:
            self.at(("schemas",), "AK105",
                    f"schemas file {rel!r} not found: create it in the chart's folder or a "
                    f"folder above it (looked upwards from {self.file.parent})")
            return None
        shown = display(file)
        try:
            self.schemas_src = load_yaml(file, shown)
        except SourceError as e:
            code = "AK105" if e.code == "AK002" else e.code
            self.diags.append(Diagnostic(shown, *e.position, code, e.message))
            return None
        schemas, diags = schemas_from_source(self.schemas_src)
        self.diags.extend(diags)
        return schemas

    # -- the statechart ------------------------------------------------------------------------

    def _sismic(self, data: dict[str, Any], semantics: str) -> FrozenStatechart | None:
        try:
            if semantics == "scxml":
                return scxmltree.build(data["statechart"])
            statechart = import_from_dict({"statechart": _for_sismic(data["statechart"])})
        except StatechartError as e:
            cause = e.__cause__ if e.__cause__ is not None else e
            self.at(("statechart",), "AK201", f"sismic rejects the statechart: {cause}")
            return None
        return freeze(statechart)

    def _code(self, model: ChartModel, data: dict[str, Any],
              hooks: ModuleType | None,
              ) -> tuple[dict[str, tuple[HookFn, ...]], list[tuple[NodePath, str]]]:
        plans: dict[str, tuple[HookFn, ...]] = {}
        inline: list[tuple[NodePath, str]] = []
        hooks_name = data.get("hooks")
        for node, code, mode in _code_nodes(model, data):
            names = _hook_names(code) if mode != "contract" else None
            if names is not None and (hooks_name is not None or mode != "eval"):
                fns = self._resolve(node, names, hooks, hooks_name)
                if fns is not None:
                    plans[_code_text(code).strip()] = fns
                continue
            text = str(code)
            inline.append((node, text))
            try:
                compile(text, "<chart>", "eval" if mode in ("eval", "contract") else "exec")
            except SyntaxError as e:
                detail = f" (line {e.lineno} of the code)" if (e.lineno or 1) > 1 else ""
                self._code_error(node, e, f"inline Python does not compile{detail}: {e.msg}")
        preamble = data["statechart"].get("preamble")
        if preamble is not None:
            inline.append((("statechart", "preamble"), preamble))
            try:
                compile(preamble, "<chart>", "exec")
            except SyntaxError as e:
                self._code_error(("statechart", "preamble"), e,
                                 f"preamble does not compile (line {e.lineno} of the code): "
                                 f"{e.msg}")
        return plans, inline

    def _code_error(self, node: NodePath, err: SyntaxError, message: str) -> None:
        """AK207 at the offending line of the code when the chart shows it line for line (a
        ``|`` block or a one-line plain scalar), else at the start of the code."""
        assert self.src is not None
        line, col = self.src.at(node)
        lines = read_text(str(self.file)) or ""
        text = lines.splitlines()
        here = text[line - 1] if 0 < line <= len(text) else ""
        lineno, offset = err.lineno or 1, err.offset or 1
        if here[col - 1:col] == "|" and line + lineno <= len(text):
            body = next((t for t in text[line:] if t.strip()), "")
            indent = len(body) - len(body.lstrip())
            line, col = line + lineno, indent + offset
        elif lineno == 1 and here[col - 1:col] not in ("'", '"', ">", "|", "[", "{", "-"):
            col += offset - 1
        self.diags.append(Diagnostic(self.src.path, line, col, "AK207", message))

    def _resolve(self, node: NodePath, names: list[str], hooks: ModuleType | None,
                 hooks_name: str | None) -> tuple[HookFn, ...] | None:
        if hooks_name is None:
            self.at(node, "AK103",
                    f"`{names[0]}` looks like a hook but the chart has no `hooks:` module: add "
                    f"`hooks: hooks.<name>` with `def {names[0]}(ctx, event)`, or write inline "
                    f"Python")
            return None
        if hooks is None:
            return None  # the module itself failed: AK102 already says so
        fns: list[HookFn] = []
        file = display(Path(hooks.__file__ or ""))
        for i, name in enumerate(names):
            item = (*node, i) if len(names) > 1 and self.src and (*node, i) in self.src.values \
                else node
            fn = getattr(hooks, name, None)
            if fn is None:
                close = difflib.get_close_matches(name, functions(hooks), n=1)
                fix = (f"did you mean `{close[0]}`? (or define `def {name}(ctx, event)`)"
                       if close else f"define `def {name}(ctx, event)`")
                self.at(item, "AK103", f"hook `{name}` not found in {file}: {fix}")
                continue
            if not callable(fn):
                self.at(item, "AK103", f"`{name}` in {file} is not a function: define "
                                       f"`def {name}(ctx, event)`")
                continue
            try:
                inspect.signature(fn).bind(None, None)
            except TypeError:
                self.at(item, "AK104", f"hook `{name}` in {file} cannot be called as "
                                       f"{name}(ctx, event): give it exactly those two parameters")
                continue
            except ValueError:  # builtins without a signature: let them be
                pass
            fns.append(fn)
        return tuple(fns) if len(fns) == len(names) else None

    # -- the context ---------------------------------------------------------------------------

    def _context(self, data: dict[str, Any]) -> dict[str, Any]:
        ctx = dict(data.get("context") or {})
        ctx.setdefault("public", {})
        ctx.setdefault("private", {})
        return ctx

    def _initial_context(self, data: dict[str, Any], schemas: ActorSchemas | None) -> None:
        if schemas is None:
            return
        ctx = self._context(data)
        for part in ("public", "private"):
            validator = getattr(schemas, part)
            if validator is None:
                continue
            problem = validator.error(ctx[part])
            if problem is not None:
                message, ptr = problem.message, problem.pointer
                at = f" at {ptr}" if ptr else ""
                what = "initial context.public" if part == "public" \
                    else "the default private bucket (context.private)"
                self.at(("context", part, *_unpointer(ptr)), "AK107",
                        f"{what} violates the `{part}` schema{at}: {message}; fix the value "
                        f"in the chart or the `{part}:` schema in {schemas.path}")


def _size(value: int | str | None) -> int | None:
    """A size as the chart writes it (``4194304`` or ``4MiB``), in bytes."""
    return parse_bytes(value) if isinstance(value, str) else value


def _has_contracts(model: ChartModel) -> bool:
    return any("contract" in s.raw or any("contract" in t for t in s.raw.get("transitions") or [])
               for s in model.order)


def _unpointer(ptr: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]] if ptr else []


def _code_nodes(model: ChartModel, data: dict[str, Any]) -> Iterator[tuple[NodePath, Any, str]]:
    """Every piece of code in the statechart: (node path, code, mode)."""
    for s in model.order:
        for key in _CODE_KEYS:
            if s.raw.get(key) is not None:
                yield (*s.path, key), s.raw[key], "exec"
        for c_i, cond in enumerate(s.raw.get("contract") or []):
            for kind, code in cond.items():
                yield (*s.path, "contract", c_i, kind), code, "contract"
        for t in s.transitions:
            raw = s.raw["transitions"][t.index]
            if raw.get("guard") is not None:
                yield (*t.path, "guard"), raw["guard"], "eval"
            if raw.get("action") is not None:
                yield (*t.path, "action"), raw["action"], "exec"
            for c_i, cond in enumerate(raw.get("contract") or []):
                for kind, code in cond.items():
                    yield (*t.path, "contract", c_i, kind), code, "contract"


def _for_sismic(node: Any) -> Any:
    """The statechart section as sismic's importer wants it: hook lists joined into one
    string per action, names as strings."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in ("action", "on entry", "on exit") and isinstance(v, list):
                out[k] = "\n".join(v)
            elif k in ("name", "target", "event", "initial", "memory") and v is not None:
                out[k] = str(v)
            else:
                out[k] = _for_sismic(v)
        return out
    if isinstance(node, list):
        return [_for_sismic(v) for v in node]
    return node


