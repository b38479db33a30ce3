"""A chart's types as a Python module of TypedDicts, for hooks and ``actorkit.client``.

Objects with properties are TypedDicts (``NotRequired`` for optional keys), enums and consts
``Literal`` unions. Each event has two: ``ClientAddTodoData``, its payload (a hook's
``event.data``), and ``ClientAddTodoEvent``, the payload with its ``type`` (what a caller
sends). Python cannot say what an intersection or an object's other keys are: an ``allOf``
is typed by its first part and ``additionalProperties`` beside properties is left out.
"""

from __future__ import annotations

import json
import keyword

from .model import (
    UNIONS,
    Array,
    Decl,
    Intersection,
    Literal,
    Object,
    Primitive,
    Ref,
    Type,
    TypeModel,
    Union,
)

__all__ = ["render"]

_PRIMITIVE = {"unknown": "Any", "never": "Never", "null": "None", "boolean": "bool",
              "number": "float", "integer": "int", "string": "str"}


def _refs(t: Type) -> set[str]:
    if isinstance(t, Ref):
        return {t.name}
    if isinstance(t, Array):
        return _refs(t.item)
    if isinstance(t, Union | Intersection):
        return set().union(*(_refs(m) for m in t.members))
    if isinstance(t, Object):
        found = set().union(*(_refs(p.type) for p in t.props))
        return found | (_refs(t.extra) if t.extra is not None else set())
    return set()


class _Writer:
    def __init__(self) -> None:
        self.used: set[str] = set()  # names imported from typing
        self.defined: set[str] = set()

    def py(self, t: Type) -> str:
        """``t`` as a Python type expression."""
        if isinstance(t, Primitive):
            text = _PRIMITIVE[t.kind]
            if text in ("Any", "Never"):
                self.used.add(text)
            return text
        if isinstance(t, Literal):
            return self.py(Union((t,)))
        if isinstance(t, Ref):
            return t.name
        if isinstance(t, Array):
            return f"list[{self.py(t.item)}]"
        if isinstance(t, Intersection):
            return self.py(t.members[0])  # the schema's own type: a superset of the whole
        if isinstance(t, Union):
            return " | ".join(self._union_parts(t.members))
        if t.extra is None and not t.props:
            self.used.add("Never")
            return "dict[str, Never]"
        if t.props:  # only declared objects have properties: this one could not be named
            self.used.add("Any")
            return "dict[str, Any]"
        return f"dict[str, {self.py(t.extra or Primitive('unknown'))}]"

    def _union_parts(self, members: tuple[Type, ...]) -> list[str]:
        parts: list[str] = []
        literals: list[str] = []
        for m in members:
            if isinstance(m, Literal) and m.value is not None and not isinstance(m.value, float):
                literals.append(_str(m.value))
                continue
            if isinstance(m, Literal):
                m = Primitive("null" if m.value is None else "number")
            if literals:
                parts.append(self._literal(literals))
                literals = []
            parts.append(self.py(m))
        if literals:
            parts.append(self._literal(literals))
        return list(dict.fromkeys(parts))

    def _literal(self, values: list[str]) -> str:
        self.used.add("Literal")
        return f"Literal[{', '.join(values)}]"

    def field(self, t: Type, required: bool) -> str:
        """A TypedDict value's type; quoted inside ``NotRequired`` when it names what is not
        declared yet (TypedDicts read their annotations at import, and must see
        ``NotRequired`` itself to know which keys are required)."""
        text = self.py(t)
        if _refs(t) - self.defined:
            text = _str(text)
        if not required:
            self.used.add("NotRequired")
            return f"NotRequired[{text}]"
        return text

    def alias(self, name: str, t: Type) -> str:
        """``name: TypeAlias = ...``; quoted when it names what is not declared yet (only in a
        cycle of references), and then not usable at import by what follows."""
        self.used.add("TypeAlias")
        text = self.py(t)
        if _refs(t) - self.defined:
            text = _str(text)
        else:
            self.defined.add(name)
        return f"{name}: TypeAlias = {text}"

    def typed_dict(self, name: str, obj: Object, description: str | None) -> list[str]:
        """A TypedDict of ``obj``'s properties: a class, or the functional form when a key is
        not a Python name."""
        lines = _comment(description)
        self.used.add("TypedDict")
        if all(p.name.isidentifier() and not keyword.iskeyword(p.name) for p in obj.props):
            lines.append(f"class {name}(TypedDict):")
            for p in obj.props:
                lines += _comment(p.description, "    ")
                lines.append(f"    {p.name}: {self.field(p.type, p.required)}")
            if not obj.props:
                lines.append("    pass")
            self.defined.add(name)
            return lines
        items = [f"    {_str(p.name)}: {self.field(p.type, p.required)}," for p in obj.props]
        self.defined.add(name)
        return [*lines, f"{name} = TypedDict({_str(name)}, {{", *items, "})"]


def _isort(name: str) -> tuple[int, str]:
    """The order ruff keeps ``__all__`` in: constants, then classes, then the rest."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def _str(value: object) -> str:
    """A Python literal: JSON's spelling of strings, numbers and booleans is Python's too."""
    if isinstance(value, bool):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str | None, indent: str = "") -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in (text or "").splitlines()]


def render(model: TypeModel, header: str) -> str:
    """The Python module of ``model``'s declarations, under the comment ``header``."""
    w = _Writer()
    body: list[str] = []
    names: list[str] = []
    for decl in _in_order(model.decls):
        body += ["", "", *_declaration(w, decl)]
        names.append(decl.name)
        if decl.event is not None:
            names.append(decl.event.data_name)
    for section, (name, doc) in UNIONS.items():
        members = [d.name for d in model.events.get(section, [])]
        body += ["", "", f"# {doc}"]
        if not members:
            w.used.add("Never")
        body.append(w.alias(name, Union(tuple(Ref(m) for m in members))) if len(members) > 1
                    else w.alias(name, Ref(members[0]) if members else Primitive("never")))
        names.append(name)
    head = [f"# {header}", "# ruff: noqa: E501",
            f'"""Types of the actor ``{model.actor}``: its events, input, context, state value '
            f'and caller snapshot."""', "",
            f"from typing import {', '.join(sorted(w.used))}", "",
            "__all__ = [", *(f"    {_str(n)}," for n in sorted(names, key=_isort)), "]"]
    return "\n".join(head + body) + "\n"


def _in_order(decls: list[Decl]) -> list[Decl]:
    """The declarations, each after those it names (Python reads a module from the top),
    otherwise in the model's order."""
    by_name = {d.name: d for d in decls}
    done: dict[str, Decl] = {}
    visiting: set[str] = set()

    def visit(d: Decl) -> None:
        if d.name in done or d.name in visiting:
            return  # a cycle: the reference that closes it is quoted
        visiting.add(d.name)
        for name in sorted(_refs(d.type)):
            if name in by_name:
                visit(by_name[name])
        visiting.discard(d.name)
        done[d.name] = d

    for d in decls:
        visit(d)
    return list(done.values())


def _declaration(w: _Writer, decl: Decl) -> list[str]:
    t, event = decl.type, decl.event
    if event is None:
        if isinstance(t, Object) and t.props:
            return w.typed_dict(decl.name, t, decl.description)
        return [*_comment(decl.description), w.alias(decl.name, t)]
    w.used.add("Literal")
    if isinstance(t, Object) and (t.props or t.extra is None):
        lines = w.typed_dict(event.data_name, t, decl.description)
        base = event.data_name
    else:  # not an object TypedDict can say: the payload's own alias, the event apart
        lines = [*_comment(decl.description), w.alias(event.data_name, t)]
        w.used.add("TypedDict")
        base = "TypedDict"
    w.defined.add(decl.name)
    return [*lines, "", "", f"class {decl.name}({base}):", f"    type: Literal[{_str(event.type)}]"]
