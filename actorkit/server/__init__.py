"""Serving actors over HTTP and WebSocket (needs the ``server`` extra).

``create_app()`` for ``uvicorn actorkit.server:create_app --factory`` and ``actorkit serve``;
``create_router()`` to mount the routes in an application of your own.
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import jwt  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the installed extras
    raise ImportError(f"actorkit.server needs the server extra: pip install "
                      f"'actorkit[server]' ({e})") from e

from .app import create_app, dev_secret, resolve_secret
from .router import create_router

__all__ = ["create_app", "create_router", "dev_secret", "resolve_secret"]
