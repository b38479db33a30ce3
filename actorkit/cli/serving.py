"""The commands that serve a project or let a caller in: ``serve``, ``token``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .stores import store_name

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _missing_extra(command: str, error: ImportError) -> int:
    print(f"actorkit {command} needs the server extra: pip install 'actorkit[server]' ({error})",
          file=sys.stderr)
    return 2


def serve(args: argparse.Namespace) -> int:
    import os

    try:
        import uvicorn

        from ..server import resolve_secret
        from ..server.app import check_address, signs_with_development_secret
        from ..server.inspector import enabled
        from ..server.protocol import PATH, connection_cap, raise_open_files_limit
    except ImportError as e:
        return _missing_extra("serve", e)
    from ..errors import ActorkitError, ChartError
    from ..limits import Limits
    from ..lint import load_charts
    from ..store.default import store_location

    project = Path(args.project).resolve()
    dev = not args.production and args.host in _LOOPBACK
    if args.store:
        os.environ["ACTORKIT_STORE"] = args.store  # for the app uvicorn makes (each worker's)
    where = store_location(project)
    if args.workers > 1 and not isinstance(where, str):  # a SQLite file, not a URL
        print(f"actorkit serve: --workers {args.workers} needs a PostgreSQL store (--store "
              f"postgresql://...): a SQLite file is held by one process. Serve with one "
              f"worker, or put the actors in PostgreSQL", file=sys.stderr)
        return 2
    if args.workers > 1 and args.reload:
        print("actorkit serve: --reload runs one process: drop --workers", file=sys.stderr)
        return 2
    try:
        limits = Limits.from_env()  # a limit set wrong stops the server before it starts
        charts = load_charts([project / "charts"])
        had_secret = bool(os.environ.get("ACTOR_KIT_SECRET"))
        secret = resolve_secret(project, None, dev=dev)
        check_address(args.host, args.port)
        inspector = enabled(development_secret=signs_with_development_secret(
            project, secret, dev=dev))
    except ChartError as e:
        print(e, file=sys.stderr)
        print("actorkit serve: fix the charts above first (actorkit lint shows them too)",
              file=sys.stderr)
        return 1
    except ActorkitError as e:
        print(f"actorkit serve: {e}", file=sys.stderr)
        return 2
    os.environ.update(ACTORKIT_PROJECT=str(project), ACTOR_KIT_SECRET=secret,
                      ACTORKIT_DEV="1" if dev else "0")
    base = f"http://{args.host}:{args.port}{args.prefix}"
    workers = f" in {args.workers} processes" if args.workers > 1 else ""
    print(f"actorkit serving {', '.join(sorted(charts))} at {base}/{{actor_type}}/{{actor_id}}"
          f"{workers}, actors in {store_name(where)}")
    if inspector:
        print(f"inspector: http://{args.host}:{args.port}/_inspect/")
    if not had_secret:
        example = sorted(charts)[0]
        print(f"development secret: random, kept in {project / '.actorkit' / 'dev-secret'} "
              f"(set ACTOR_KIT_SECRET for anything but development)\n"
              f"a token to try: actorkit token --type {example} --id demo --caller client:me")
    soft, hard = raise_open_files_limit()
    cap = connection_cap(limits, soft)
    if cap < limits.max_connections:
        print(f"actorkit serve: the open-files limit is {soft:,} (hard limit {hard:,}), so the "
              f"server holds at most {cap:,} connections, not {limits.max_connections:,} "
              f"(ACTORKIT_MAX_CONNECTIONS); raise the hard limit for more (`ulimit -Hn` as "
              f"root, or LimitNOFILE= in a systemd unit)", file=sys.stderr)
    watch: dict[str, Any] = {}
    if args.reload:
        from ..server import reload

        watch = {"reload_dirs": [str(f) for f in reload.folders(project, charts.values())],
                 "reload_includes": reload.PATTERNS, "reload_excludes": reload.excluded(project)}
    app = "actorkit.server.reload:reloaded_app" if args.reload else "actorkit.server:create_app"
    # The protocol holds request heads, idle connections and their number to the limits.
    try:
        uvicorn.run(app, factory=True, host=args.host, port=args.port, reload=args.reload,
                    workers=args.workers if args.workers > 1 else None,
                    **watch, log_level=args.log_level, http=PATH, ws_max_size=limits.max_body,
                    # seconds, as uvicorn uses it (asyncio.timeout), though typed as int there
                    timeout_graceful_shutdown=limits.stop_grace)  # type: ignore[arg-type]
    except ActorkitError as e:  # the app could not be made: its store is taken, say
        print(f"actorkit serve: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:
        # uvicorn exits 1 or 3 when it cannot start (it has logged why): 2, as the help says
        if e.code in (None, 0):
            return 0
        print("actorkit serve: the server could not start (see above)", file=sys.stderr)
        return 2
    return 0


def token(args: argparse.Namespace) -> int:
    import os

    from ..events import Caller

    try:
        from ..auth import create_access_token
    except ImportError as e:
        return _missing_extra("token", e)
    secret = args.secret or os.environ.get("ACTOR_KIT_SECRET")
    if not secret:
        file = Path(args.project) / ".actorkit" / "dev-secret"
        if file.is_file():
            secret = file.read_text().strip()
    if not secret:
        print("actorkit token: no secret: set ACTOR_KIT_SECRET (or run `actorkit serve` once "
              "here to make the development secret)", file=sys.stderr)
        return 2
    try:
        caller = Caller.parse(args.caller)
        if caller.type in ("system", "actor"):
            raise ValueError(f"tokens are for client or service callers, not {caller.type}")
        print(create_access_token(secret, args.id, args.type, caller.id, caller.type,
                                  expires_in=_duration(args.expires)))
    except ValueError as e:
        print(f"actorkit token: {e}", file=sys.stderr)
        return 2
    return 0


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise ValueError(f"--expires takes e.g. 3600, 90m, 12h or 30d, not {text!r}") from None
    if value <= 0:
        raise ValueError("--expires must be positive")
    return value
