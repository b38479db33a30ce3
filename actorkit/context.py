"""An actor's context as a step leaves it: plain JSON that JSON carries exactly, with a public
part and private buckets that fit the chart's ``public`` and ``private`` schemas. A context
that does not is the step's :class:`~actorkit.ContextError` (or, past a schema's bound, its
:class:`~actorkit.BoundError`), and the step is rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from . import jsonvalue
from . import snapshot as snapshots
from .chart import Chart
from .errors import BoundError, ContextError
from .hooks import PrivateBuckets
from .schemas import Problem, pointer

__all__ = ["check_context", "checked_json", "refuse_non_json", "schema_error"]


def check_context(context: dict[str, Any], chart: Chart, public_was: bytes,
                  buckets_was: Mapping[str, bytes]) -> tuple[bytes, dict[str, bytes] | None]:
    """Check the ``context`` a step left, against the committed public part and private
    buckets as canonical JSON; return the public part's canonical JSON and the private
    buckets' (``None`` if no bucket changed)."""
    schemas = chart.schemas
    public = context.get("public")
    if not isinstance(public, dict):
        raise ContextError("context.public must stay an object", pointer="/public")
    public_json = checked_json(public, "/public")
    if schemas.public is not None and public_json != public_was:
        problem = schemas.public.error(public, bounds_first=True)
        if problem is not None:
            raise schema_error(problem, "context.public", "public", "/public")
    private = context.get("private")
    if not isinstance(private, PrivateBuckets):
        if not isinstance(private, dict):
            raise ContextError("context.private must stay an object of buckets by caller id",
                               pointer="/private")
        private = context["private"] = PrivateBuckets(private, chart.default_private)
        private.touched = None
    touched = private.keys() if private.touched is None else private.touched
    if not touched:
        return public_json, None
    buckets = dict(buckets_was)
    changed = False
    for key in touched:
        bucket = dict.get(private, key)
        if bucket is None:
            changed |= buckets.pop(key, None) is not None
            continue
        where = pointer(["private", key])
        if not isinstance(bucket, dict):
            raise ContextError(f"private bucket {key!r} must be an object", pointer=where)
        bucket_json = checked_json(bucket, where)
        if buckets.get(key) == bucket_json:
            continue
        if schemas.private is not None:
            problem = schemas.private.error(bucket, bounds_first=True)
            if problem is not None:
                raise schema_error(problem, f"private bucket {key!r}", "private", where)
        buckets[key] = bucket_json
        changed = True
    return public_json, buckets if changed else None


def checked_json(value: Any, where: str) -> bytes:
    """``value``'s canonical JSON, or a ContextError naming the pointer (under ``where``)
    of what JSON cannot carry exactly: orjson refuses some of it (an object, an integer
    past 64 bits) and writes NaN and the infinities as null, which would show and store
    a value other than the one the actor holds."""
    try:
        data = snapshots.canonical(value)
    except TypeError as e:
        refuse_non_json(value, where, str(e))
    if jsonvalue.not_json(value, data, where) is not None:
        refuse_non_json(value, where, "")
    return data


def refuse_non_json(value: Any, where: str, error: str) -> NoReturn:
    """Raise the ContextError that says where in ``value`` (found at ``where``) the context
    stops being plain JSON; ``error`` is orjson's, for a value it could not name."""
    at, bad = jsonvalue.non_json(value, where)
    why = jsonvalue.describe(bad) if at else f"{error}; store only dicts, lists, strings, " \
        f"numbers, booleans and None"
    raise ContextError(f"the context is not plain JSON at {at or where}: {why}",
                       pointer=at or where) from None


def schema_error(problem: Problem, what: str, schema: str, where: str) -> ContextError:
    """The error of a context part that breaks its schema. Past a bound (the todo list at
    its ``maxItems``) the event cannot apply to the actor as it is: a :class:`BoundError`,
    which names no value, since the part may be another caller's bucket. Any other break
    is the chart's: a :class:`ContextError` with the schema's message."""
    at = problem.pointer or "/"
    beyond = problem.past_bound()
    if beyond is not None:
        what = "a private bucket" if schema == "private" else what
        return BoundError(f"{what} at {at} would {beyond} in the `{schema}` schema: the "
                          f"event cannot apply to the actor as it is, and changed nothing",
                          pointer=where + problem.pointer)
    return ContextError(f"{what} breaks the `{schema}` schema at {at}: {problem.message}",
                        pointer=where + problem.pointer)
