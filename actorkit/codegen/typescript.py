"""A chart's types as a TypeScript module, shaped for Actor Kit's generics.

Every declaration is an exported ``type`` (object literal types, not interfaces: XState's
``StateValue`` constraint and ``Record<string, unknown>`` parameters accept them). ``Machine``
is the type ``createActorKitClient<Machine>`` and ``createActorFetch<Machine>`` take: an XState
``StateMachine`` whose context, events, state value and input are the chart's.
"""

from __future__ import annotations

import json
import re

from .model import (
    UNIONS,
    UNKNOWN,
    Array,
    Decl,
    Intersection,
    Literal,
    Object,
    Primitive,
    Prop,
    Ref,
    Type,
    TypeModel,
    Union,
)

__all__ = ["render"]

_PRIMITIVE = {"unknown": "unknown", "never": "never", "null": "null", "boolean": "boolean",
              "number": "number", "integer": "number", "string": "string"}
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _key(name: str) -> str:
    return name if _IDENTIFIER.fullmatch(name) else _json(name)


def _doc(text: str | None, indent: str) -> list[str]:
    if not text:
        return []
    lines = text.replace("*/", "*\\/").splitlines()
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *(f"{indent} * {line}".rstrip() for line in lines), f"{indent} */"]


def _index(obj: Object) -> str | None:
    """The index signature's type: every property must fit it too, so it is their union with
    the type of other keys (TypeScript checks that), ``undefined`` included for optional ones."""
    if obj.extra is None:
        return None
    if obj.extra == UNKNOWN or not obj.props:
        return ts(obj.extra)
    members = [ts(obj.extra), *(ts(p.type) for p in obj.props)]
    if any(not p.required for p in obj.props):
        members.append("undefined")
    return " | ".join(dict.fromkeys(members))


def _member(p: Prop) -> str:
    return f"{_key(p.name)}{'' if p.required else '?'}: {ts(p.type)};"


def ts(t: Type, *, inner: bool = False) -> str:
    """``t`` as a TypeScript type expression (``inner``: as part of a larger one)."""
    if isinstance(t, Primitive):
        return _PRIMITIVE[t.kind]
    if isinstance(t, Literal):
        return _json(t.value)
    if isinstance(t, Ref):
        return t.name
    if isinstance(t, Array):
        return f"{ts(t.item, inner=True)}[]"
    if isinstance(t, Union | Intersection):
        sep = " | " if isinstance(t, Union) else " & "
        text = sep.join(ts(m, inner=True) for m in t.members)
        return f"({text})" if inner else text
    if not t.props:
        return "Record<string, never>" if t.extra is None else f"{{ [key: string]: {ts(t.extra)} }}"
    members = [_member(p) for p in t.props]
    index = _index(t)
    if index is not None:
        members.append(f"[key: string]: {index};")
    return "{ " + " ".join(members) + " }"


def _object_body(obj: Object, first: list[str]) -> list[str]:
    lines = ["{", *first]
    for p in obj.props:
        lines += _doc(p.description, "  ")
        lines.append("  " + _member(p))
    index = _index(obj)
    if index is not None:
        lines.append(f"  [key: string]: {index};")
    return [*lines, "}"]


def _declaration(decl: Decl) -> list[str]:
    lines = _doc(decl.description, "")
    t, event = decl.type, decl.event
    first = [f"  type: {_json(event.type)};"] if event is not None else []
    if isinstance(t, Object) and (t.props or first):
        body = _object_body(t, first)
        return [*lines, f"export type {decl.name} = {body[0]}", *body[1:-1], body[-1] + ";"]
    if event is not None:
        return [*lines, f"export type {decl.name} = {{ type: {_json(event.type)} }} & "
                        f"{ts(t, inner=True)};"]
    return [*lines, f"export type {decl.name} = {ts(t)};"]


_MACHINE = """\
/**
 * The type Actor Kit's generics take: `createActorKitClient<Machine>` (actor-kit/browser) and
 * `createActorFetch<Machine>` (actor-kit/server) send `ClientEvent`s and give a
 * `CallerSnapshot`. Only a type: there is no machine at run time.
 */
export type Machine = StateMachine<
  { public: PublicContext; private: Record<string, PrivateContext> },
  | WithActorKitEvent<ClientEvent, "client">
  | WithActorKitEvent<ServiceEvent, "service">
  | ActorKitSystemEvent,
  any, any, any, any, any, StateValue, any, Input, any, OutputEvent, any, any
>;
"""


def render(model: TypeModel, header: str) -> str:
    """The TypeScript module of ``model``'s declarations, under the comment ``header``."""
    out = [f"// {header}",
           'import type { ActorKitSystemEvent, WithActorKitEvent } from "actor-kit";',
           'import type { StateMachine } from "xstate";', ""]
    for decl in model.decls:
        out += [*_declaration(decl), ""]
    for section, (name, doc) in UNIONS.items():
        names = [d.name for d in model.events.get(section, [])]
        out += [f"/** {doc} */", f"export type {name} = {' | '.join(names) or 'never'};", ""]
    out.append(_MACHINE)
    return "\n".join(out)
