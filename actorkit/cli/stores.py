"""The commands on a project's actor store: ``replay``, ``quarantine``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..chart import Chart
    from ..store import Store


def store_name(where: str | Path) -> str:
    """An actor store's location (:func:`~actorkit.store.default.store_location`) as
    messages name it (a URL without its password)."""
    from ..store.postgres import redact

    return redact(where) if isinstance(where, str) else str(where)


async def _open_project(command: str, args: argparse.Namespace, *, lock: bool = True,
                        ) -> tuple[dict[str, Chart], Store] | None:
    """The project's charts and its actor store, or ``None`` after saying why not. ``lock``:
    hold a SQLite store as a server does (to write to it); else read it beside a running
    one."""
    from ..errors import ChartError
    from ..lint import load_charts
    from ..store import StoreError
    from ..store.default import open_store, store_location

    where = store_location(args.project, args.db)
    if isinstance(where, Path) and not where.is_file():
        print(f"actorkit {command}: no actor store at {where} (give --db)", file=sys.stderr)
        return None
    try:
        return load_charts([Path(args.project) / "charts"]), open_store(args.project, args.db,
                                                                         lock=lock)
    except (ChartError, StoreError) as e:
        print(f"actorkit {command}: {e}", file=sys.stderr)
        return None


def _on_store(command: str, args: argparse.Namespace,
              body: Callable[[dict[str, Chart], Store], Awaitable[int]], *,
              lock: bool = True) -> int:
    """Run ``body`` on the project's charts and actor store, then close the store; exit code
    2 when the store cannot be opened or read."""
    import asyncio

    from ..store import StoreError

    async def run() -> int:
        opened = await _open_project(command, args, lock=lock)
        if opened is None:
            return 2
        charts, store = opened
        try:
            if args.type not in charts:
                print(f"actorkit {command}: no chart serves actor type {args.type!r}",
                      file=sys.stderr)
                return 2
            return await body(charts, store)
        except StoreError as e:
            print(f"actorkit {command}: {e}", file=sys.stderr)
            return 2
        finally:
            await store.close()

    return asyncio.run(run())


def replay(args: argparse.Namespace) -> int:
    from ..journal import ReplayError, verify
    from ..store.default import store_location

    db = store_name(store_location(args.project, args.db))

    async def replay(charts: dict[str, Chart], store: Store) -> int:
        chart = charts[args.type]
        if args.to is not None:
            return await replay_to(chart, store)
        ids = [args.id] if args.id else await _all_ids(store, args.type)
        if not ids:
            print(f"actorkit replay: no {args.type} actors in {db}", file=sys.stderr)
            return 2
        code = 0
        for actor_id in ids:
            stored = await store.load(args.type, actor_id)
            if stored is None:
                print(f"actorkit replay: {args.type}/{actor_id} is not in {db}",
                      file=sys.stderr)
                return 2
            try:
                verdict = await verify(store, chart, stored)
            except ReplayError as e:
                print(f"actorkit replay: {e}", file=sys.stderr)
                code = 1 if stored.version == chart.version else max(code, 2)
                continue
            since = (f" (from its migration at step {verdict.since})"
                     if verdict.since is not None else "")
            print(f"{args.type}/{actor_id}: {verdict.entries} journal entries{since} "
                  f"replayed to step {verdict.seq}; stored state {verdict.stored[:16]}, "
                  f"replayed {verdict.rebuilt[:16]}: "
                  f"{'the same' if verdict.same else 'DIFFERENT'}")
            if verdict.difference is not None:
                print(f"  first difference at "
                      f"{verdict.difference.describe('replayed', 'stored')}")
            if not verdict.same:
                code = 1
        return code

    async def replay_to(chart: Chart, store: Store) -> int:
        """Print the actor as it was after step ``args.to``, rebuilt from its journal."""
        import json

        from ..journal import replay as rebuild
        from ..journal import up_to

        if not args.id:
            print("actorkit replay: --to needs an actor: actorkit replay TYPE ID --to STEP",
                  file=sys.stderr)
            return 2
        journal = await up_to(store, args.type, args.id, args.to)
        if not journal or journal[-1].seq != args.to:
            last = f"its last step is {journal[-1].seq}" if journal else "it has no journal"
            print(f"actorkit replay: {args.type}/{args.id} has no step {args.to} in {db} "
                  f"({last})", file=sys.stderr)
            return 2
        try:
            actor = rebuild(chart, args.id, journal)
        except ReplayError as e:
            print(f"actorkit replay: {e}", file=sys.stderr)
            return 1
        print(json.dumps({"seq": actor.seq, "value": actor.value, "context": actor.context},
                         sort_keys=True))
        return 0

    # Read beside a running server: replay writes nothing.
    return _on_store("replay", args, replay, lock=False)


def quarantine(args: argparse.Namespace) -> int:
    from ..errors import utc_time
    from ..runtime import ActorSystem, NotQuarantined

    if args.action == "lift" and not args.id:
        print("actorkit quarantine: lift which actor? actorkit quarantine lift TYPE ID",
              file=sys.stderr)
        return 2

    async def quarantine(charts: dict[str, Chart], store: Store) -> int:
        system = ActorSystem(charts, store=store)
        if args.action == "lift":
            try:
                seq = await system.release(args.type, args.id)
            except NotQuarantined as e:
                print(f"actorkit quarantine: {e}", file=sys.stderr)
                return 1
            print(f"{args.type}/{args.id}: quarantine lifted (journal step {seq}); it is "
                  f"brought back when the server next starts")
            return 0
        found = 0
        for actor_id in [args.id] if args.id else await _all_ids(store, args.type):
            info = await system.quarantine_of(args.type, actor_id)
            if info is not None:
                found += 1
                print(f"{args.type}/{actor_id}: quarantined since "
                      f"{utc_time(float(info['since']))}: {info['reason']}")
        if not found:
            print(f"no {args.type} actor is quarantined")
        return 0

    return _on_store("quarantine", args, quarantine)


async def _all_ids(store: Store, actor_type: str) -> list[str]:
    ids: list[str] = []
    while True:
        more = await store.actor_ids(actor_type, after=ids[-1] if ids else "", limit=1000)
        ids.extend(more)
        if len(more) < 1000:
            return ids
