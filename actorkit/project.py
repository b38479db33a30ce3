"""Where a chart's other files are: the hooks module and the schemas file it names are looked
up from the chart's folder upwards, and hooks modules are imported from their file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["display", "find_upward", "functions", "import_hooks", "module_file", "raised_at",
           "read_text"]


def find_upward(start: Path, relative: Path) -> Path | None:
    """``relative`` in ``start`` or the nearest folder above it that has it. The search goes
    up from the absolute folder (``Path("charts").parents`` would stop at the working
    directory); a relative ``start`` gives a result relative to the working directory."""
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / relative
        if candidate.exists():
            return candidate if start.is_absolute() else Path(display(candidate))
    return None


def module_file(start: Path, dotted: str) -> Path | None:
    parts = dotted.split(".")
    for rel in (Path(*parts).with_suffix(".py"), Path(*parts, "__init__.py")):
        found = find_upward(start, rel)
        if found is not None:
            return found
    return None


def import_hooks(file: Path, dotted: str) -> ModuleType:
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


def functions(module: ModuleType) -> list[str]:
    """The public functions of a hooks module."""
    return [n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_")]


def raised_at(exc: BaseException, file: Path) -> int | None:
    """The line of ``file`` where ``exc`` was raised (the innermost frame in it)."""
    line = None
    tb = exc.__traceback__
    target = file.resolve()
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def read_text(file: str) -> str | None:
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def display(file: Path) -> str:
    """A path relative to the working directory when possible, as users typed it."""
    try:
        return file.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(file)
