"""Charts: a YAML file (settings, initial context, a sismic statechart) with its hooks module and
schemas file, checked and built once, then shared by every actor of that type.

``load_chart(path)`` returns a :class:`Chart` or raises :class:`~actorkit.ChartError` listing
every problem with its ``file:line:col``; ``inspect_chart(path)`` returns the diagnostics
(warnings included) without raising, which is what ``actorkit lint`` shows.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import inspect
import json
import keyword
import re
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import orjson
from sismic.exceptions import StatechartError
from sismic.io.datadict import import_from_dict

from .checks import ChartModel, Finding, sent_event_names
from .diagnostics import Diagnostic, Severity
from .engine import FrozenStatechart, freeze
from .errors import ChartError
from .schemas import ActorSchemas, pointer, schemas_from_source
from .source import Source, SourceError, load_yaml
from .statevalue import StateValue, state_value

__all__ = ["Chart", "Inspection", "chart_schema", "inspect_chart", "load_chart"]

HookFn = Callable[..., Any]
NodePath = tuple[str | int, ...]

_VALUE_CACHE = 4096
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CODE_KEYS = ("on entry", "on exit")


def chart_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a chart document, as shipped in the package."""
    text = resources.files("actorkit").joinpath("chart.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


_DOC = jsonschema.Draft7Validator(chart_schema())


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
    #: events some transition waits for
    handled_events: frozenset[str] = frozenset()
    #: the chart document with positions, for tools that point into it
    source: Source | None = field(default=None, repr=False)
    # compiled inline code, shared by all actors of this chart
    code_cache: tuple[dict[str, Any], dict[str, Any]] = field(
        default_factory=lambda: ({}, {}), repr=False)

    def __post_init__(self) -> None:
        self.default_private = orjson.dumps(self.initial_context.get("private", {}))
        self.hooks_file = getattr(self.hooks_module, "__file__", None)
        self._values: dict[frozenset[str], StateValue] = {}

    def value_of(self, configuration: Collection[str]) -> StateValue:
        """The XState state value of a configuration (memoised: configurations repeat)."""
        key = frozenset(configuration)
        value = self._values.get(key)
        if value is None:
            value = state_value(self.statechart, key)
            if len(self._values) < _VALUE_CACHE:
                self._values[key] = value
        return value

    def handles(self, event_type: str) -> bool:
        """Whether some transition of the chart waits for ``event_type``."""
        return event_type in self.handled_events

    def position(self, state: str) -> tuple[int, int] | None:
        """``(line, column)`` of a state's ``name`` in the chart file."""
        if self.source is None:
            return None
        model = ChartModel(self.source.data["statechart"])
        info = model.states.get(state)
        return self.source.at((*info.path, "name")) if info else None


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


def _find_upward(start: Path, relative: Path) -> Path | None:
    """``relative`` in ``start`` or the nearest folder above it that has it. The search goes
    up from the absolute folder (``Path("charts").parents`` would stop at the working
    directory); a relative ``start`` gives a result relative to the working directory."""
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / relative
        if candidate.exists():
            return candidate if start.is_absolute() else Path(_display(candidate))
    return None


def _module_file(start: Path, dotted: str) -> Path | None:
    parts = dotted.split(".")
    for rel in (Path(*parts).with_suffix(".py"), Path(*parts, "__init__.py")):
        found = _find_upward(start, rel)
        if found is not None:
            return found
    return None


def _import_hooks(file: Path, dotted: str) -> ModuleType:
    # The module lives in a package unique to the folder `dotted` starts from: two projects'
    # `hooks.todo` never collide in sys.modules, and a hooks module can import its siblings
    # relatively (`from .common import helper`).
    parts = dotted.split(".")
    base = file.resolve().parents[len(parts) - (file.name != "__init__.py")]
    root = "_actorkit_hooks_" + hashlib.sha1(str(base).encode()).hexdigest()[:12]
    for i in range(len(parts)):
        package = ".".join([root, *parts[:i]])
        if package not in sys.modules:
            module = ModuleType(package)
            module.__path__ = [str(base.joinpath(*parts[:i]))]
            sys.modules[package] = module
    name = f"{root}.{dotted}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


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
        if not self._document(data):
            return self._done(None)
        hooks = self._hooks(data)
        schemas = self._schemas(data)
        model = ChartModel(data["statechart"])
        for f in model.structure():
            self.finding(f, schemas)
        statechart = None if self.diags_since_errors() else self._sismic(data)
        plans, inline = self._code(model, data, hooks)
        self._initial_context(data, schemas)
        hooks_source = _read(hooks.__file__) if hooks is not None and hooks.__file__ else None
        self.hooks_file = _display(Path(hooks.__file__)) if hooks_source and hooks else None
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
                handled_events=frozenset(t.event for t in model.transitions() if t.event),
                source=self.src,
            )
        return self._done(chart)

    def _done(self, chart: Chart | None) -> Inspection:
        # In file order: the chart's own problems first, then those in its schemas file.
        self.diags.sort(key=lambda d: (d.path != self.display, d.path, d.line, d.column))
        return Inspection(self.display, chart, self.diags)

    def diags_since_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diags)

    # -- the document --------------------------------------------------------------------------

    def _document(self, data: Any) -> bool:
        src = self.src
        assert src is not None
        if data is None:
            self.at((), "AK101", "the file is empty: a chart needs at least `actor:` and "
                                 "`statechart:`")
            return False
        found: list[Diagnostic] = []
        errors = list(_DOC.iter_errors(data))
        for err in _leaf_errors(errors):
            node = tuple(err.absolute_path)
            if (err.validator == "additionalProperties" and isinstance(err.instance, dict)
                    and isinstance(err.schema, Mapping)):
                allowed = sorted((err.schema.get("properties") or {}).keys())
                for key in err.instance:
                    if key not in allowed:
                        found.append(Diagnostic(src.path, *src.key_at((*node, key)), "AK101",
                                                _unknown_key(key, allowed, _what(data, node))))
                continue
            pos = src.at(node)
            if err.validator == "pattern" and node == ("context",):  # from propertyNames
                pos = src.key_at((*node, str(err.instance)))
            elif err.instance is None:  # an empty value has no position of its own
                pos = src.key_at(node)
            found.append(Diagnostic(src.path, *pos, "AK101", _explain(err, data)))
        self.diags.extend(sorted(found, key=lambda d: (d.line, d.column)))
        return not errors

    def _hooks(self, data: dict[str, Any]) -> ModuleType | None:
        dotted = data.get("hooks")
        if dotted is None:
            return None
        file = _module_file(self.file.parent, dotted)
        if file is None:
            rel = Path(*dotted.split(".")).with_suffix(".py")
            self.at(("hooks",), "AK102",
                    f"hooks module {dotted!r} not found: create {rel.as_posix()} in the chart's "
                    f"folder or a folder above it (looked upwards from {self.file.parent})")
            return None
        try:
            return _import_hooks(file, dotted)
        except (Exception, SystemExit) as e:
            line = e.lineno if isinstance(e, SyntaxError) else _raised_at(e, file)
            where = f"{_display(file)}{f', line {line}' if line else ''}"
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
        file = _find_upward(self.file.parent, Path(rel))
        if file is None:
            self.at(("schemas",), "AK105",
                    f"schemas file {rel!r} not found: create it in the chart's folder or a "
                    f"folder above it (looked upwards from {self.file.parent})")
            return None
        shown = _display(file)
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

    def _sismic(self, data: dict[str, Any]) -> FrozenStatechart | None:
        try:
            statechart = import_from_dict({"statechart": _for_sismic(data["statechart"])})
        except StatechartError as e:
            cause = e.__cause__ if e.__cause__ is not None else e
            self.at(("statechart",), "AK201", f"sismic rejects the statechart: {cause}")
            return None
        return freeze(statechart)

    def _code(self, model: ChartModel, data: dict[str, Any],
              hooks: ModuleType | None) -> tuple[dict[str, tuple[HookFn, ...]], list[str]]:
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
        lines = _read(str(self.file)) or ""
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
        file = _display(Path(hooks.__file__ or ""))
        for i, name in enumerate(names):
            item = (*node, i) if len(names) > 1 and self.src and (*node, i) in self.src.values \
                else node
            fn = getattr(hooks, name, None)
            if fn is None:
                close = difflib.get_close_matches(name, _functions(hooks), n=1)
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
                message, ptr = problem
                at = f" at {ptr}" if ptr else ""
                what = "initial context.public" if part == "public" \
                    else "the default private bucket (context.private)"
                self.at(("context", part, *_unpointer(ptr)), "AK107",
                        f"{what} violates the `{part}` schema{at}: {message}; fix the value "
                        f"in the chart or the `{part}:` schema in {schemas.path}")


def _has_contracts(model: ChartModel) -> bool:
    return any("contract" in s.raw or any("contract" in t for t in s.raw.get("transitions") or [])
               for s in model.order)


def _functions(module: ModuleType) -> list[str]:
    """The public functions of a hooks module."""
    return [n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_")]


def _raised_at(exc: BaseException, file: Path) -> int | None:
    """The line of ``file`` where ``exc`` was raised (the innermost frame in it)."""
    line = None
    tb = exc.__traceback__
    target = file.resolve()
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _unpointer(ptr: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]] if ptr else []


def _read(file: str) -> str | None:
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _display(file: Path) -> str:
    """A path relative to the working directory when possible, as users typed it."""
    try:
        return file.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(file)


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


def _leaf_errors(errors: list[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    """The most specific error of each failing node (``oneOf`` explains itself badly)."""
    seen: set[tuple[Any, ...]] = set()
    for err in errors:
        node = tuple(err.absolute_path)
        if node in seen:
            continue
        seen.add(node)
        yield err


def _what(data: Any, node: NodePath) -> str:
    """How a user would name the mapping at ``node``: a state, a transition, or a pointer."""
    def get(path: NodePath) -> Any:
        value = data
        for p in path:
            value = value[p]
        return value

    try:
        if (node and node[-1] == "root state") or (
                len(node) > 1 and node[-2] in ("states", "parallel states")):
            name = get(node).get("name")
            return f"state {name!r}" if name is not None else f"the state at {pointer(node)}"
        if len(node) > 2 and node[-2] == "transitions":
            name = get(node[:-2]).get("name")
            if name is not None:
                return f"transition #{int(node[-1]) + 1} of state {name!r}"
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    if len(node) > 1 and isinstance(node[-1], str):
        owner = _what(data, node[:-1])
        if owner.startswith(("state ", "transition ")):
            return f"`{node[-1]}` of {owner}"
    return f"`{pointer(node)[1:]}`" if node else "the chart"


def _unknown_key(key: str, allowed: list[str], what: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key {key!r} in {what}: did you mean {close[0]!r}?"
    return f"unknown key {key!r} in {what}: use one of {', '.join(allowed)}"


_KINDS = {"object": "a mapping", "array": "a list", "string": "a string",
          "integer": "an integer", "number": "a number", "boolean": "true or false",
          "null": "empty"}


def _kind(value: Any) -> str:
    """The YAML kind of ``value``, in words."""
    for kind, py in (("boolean", bool), ("integer", int), ("number", float), ("string", str),
                     ("array", list), ("object", dict)):
        if isinstance(value, py):
            return f"{_KINDS[kind]} ({value!r})" if kind not in ("array", "object") \
                else _KINDS[kind]
    return "empty" if value is None else type(value).__name__


def _explain(err: jsonschema.ValidationError, data: Any) -> str:
    node = list(err.absolute_path)
    where = pointer(node) or "the document"
    key = node[-1] if node else None
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"{_what(data, tuple(node))} is missing the required key {missing!r}: add it"
    if err.validator == "type" and not node:
        return "a chart is a mapping with at least `actor:` and `statechart:` keys"
    if key == "priority":
        return (f"{_what(data, tuple(node))} is {err.instance!r}: use an integer (higher runs "
                f"first), 'high' or 'low'")
    if err.validator == "type" and isinstance(err.validator_value, str):
        return (f"{_what(data, tuple(node))} must be {_KINDS.get(err.validator_value, '?')}, "
                f"not {_kind(err.instance)}")
    if err.validator == "pattern" and node == ["context"]:
        return (f"context key {err.instance!r} must be a Python identifier (letters, digits, "
                f"_): hooks read it as ctx.context[...] and inline code as a variable")
    if err.validator == "not" and "states" in str(err.validator_value):
        return (f"{_what(data, tuple(node))} has both `states` and `parallel states`: a state "
                f"is either compound or parallel, keep one")
    if err.validator == "oneOf" and key in ("action", "on entry", "on exit"):
        return (f"{_what(data, tuple(node))} must be inline Python (a string) or a list of "
                f"hook names (identifiers)")
    if err.validator == "pattern" and key == "actor":
        return (f"actor type {err.instance!r} must be lower-case kebab-case (it is the URL "
                f"segment in /api/{{actor_type}}/...), e.g. 'todo' or 'game-round'")
    return f"{err.message} (at {where})"
