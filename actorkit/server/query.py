"""Query strings and their JSON parameters, parsed once per request."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson

from .. import jsonvalue
from ..errors import excerpt

__all__ = ["BadRequest", "Query"]


class BadRequest(Exception):
    """A request parameter that cannot be used (HTTP 400). The message may quote it: at
    most an excerpt."""

    def __init__(self, message: str) -> None:
        self.message = excerpt(message)


class Query:
    """The query string of a request, parsed once."""

    def __init__(self, scope: Any) -> None:
        raw = scope.get("query_string", b"").decode("latin-1")
        self.values = dict(parse_qsl(raw, keep_blank_values=True)) if raw else {}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    def json(self, name: str) -> Any:
        raw = self.values.get(name)
        if raw is None:
            return None
        try:
            return jsonvalue.loads(raw)
        except orjson.JSONDecodeError as e:
            raise BadRequest(f"Invalid {name}: not JSON ({e})") from None
        except jsonvalue.InexactNumber as e:
            raise BadRequest(f"Invalid {name}: {e.message}") from None
