"""Journals: the steps an actor committed, as store entries, and their replay.

Every committed step becomes one :class:`~actorkit.store.Entry` (what came in, from whom,
when, its sequence number). Hooks take time from ``ctx.now`` and ids from ``ctx.new_id()``,
both derived from the step, so replaying an actor's entries in order into a fresh actor of the
same chart rebuilds exactly the state the store holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import orjson

from .actor import Actor, StepResult
from .chart import Chart
from .difference import Difference, first_difference
from .errors import ActorkitError
from .events import Caller
from .schemas import SYSTEM_EVENTS
from .snapshot import mark_quarantine
from .store.base import Entry, Store, Stored
from .sync import checksum

__all__ = ["ReplayError", "Verdict", "entries", "replay", "replayable", "spawn_entry", "up_to",
           "verify"]


class ReplayError(ActorkitError):
    """A journal that does not replay: missing entries, or a step that went differently."""


def spawn_entry(actor: Actor) -> Entry:
    """The journal entry of an actor's creation (its input, first caller and time)."""
    return Entry(actor.seq, actor.time, "spawn", actor.initial_caller, None,
                 {"input": actor.input})


def entries(steps: Iterable[StepResult]) -> list[Entry]:
    """The journal entries of committed steps, as :meth:`Actor.take_steps` gives them."""
    out = []
    for r in steps:
        data = r.data
        if r.message is not None:  # a told message taken in, or taken out of the outbox
            kind = "message" if r.caller.type == "actor" else "system"
            data = {"data": data, "message": list(r.message)} if kind == "message" \
                else {**(data or {}), "message": list(r.message)}
        elif r.caller.type != "system":
            kind = "event"
        elif r.type in SYSTEM_EVENTS:
            kind = "system"
        else:
            kind = "timer"
        out.append(Entry(r.seq, r.time, kind, r.caller, r.type, data,  # type: ignore[arg-type]
                         str(r.error) if r.error is not None else None))
    return out


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def replayable(journal: Iterable[Entry]) -> list[Entry]:
    """The entries a replay runs: all of them, or from the last migration on (whose snapshot
    is of the new chart version: the steps before it ran on an older version)."""
    steps = list(journal)
    start = max((i for i, e in enumerate(steps) if e.kind == "migrate"), default=0)
    return steps[start:]


def replay(chart: Chart, actor_id: str, journal: Iterable[Entry]) -> Actor:
    """Rebuild actor ``actor_id`` of ``chart`` from its journal: from its creation or, if it
    was migrated, from its last migration (whose snapshot is of the new chart version: the
    steps before it ran on an older version, which this chart cannot replay). Raises
    :class:`ReplayError` if the journal does not replay to the steps it records."""
    name = f"{chart.actor_type}/{actor_id}"
    clock = _Clock()
    actor: Actor | None = None
    steps = replayable(journal)
    failed = {e.seq: e.error for e in steps if e.kind == "timer" and e.error is not None}
    for entry in steps:
        clock.t = entry.time
        if entry.kind not in ("spawn", "migrate") and actor is None:
            raise ReplayError(f"the journal of {name} does not start with the actor's "
                              f"creation (first entry: step {entry.seq})")
        if actor is not None and entry.kind != "migrate" and entry.seq <= actor.seq:
            continue  # a timer step an earlier event's advance() already ran
        try:
            if entry.kind == "spawn":
                actor = Actor.spawn(chart, actor_id, caller=entry.caller,
                                    input=(entry.data or {}).get("input"), clock=clock)
            elif entry.kind == "migrate":
                actor = Actor.restore(chart, entry.data["snapshot"], clock=clock)
            elif entry.kind in ("quarantine", "release"):  # steps of no code of the chart's
                assert actor is not None
                snap = orjson.loads(actor.snapshot_json())
                mark_quarantine(snap, (entry.data or {}).get("reason", "")
                                if entry.kind == "quarantine" else None, entry.time)
                actor = Actor.restore(chart, snap, clock=clock)
            else:
                assert actor is not None
                _apply(actor, entry, failed)
        except ActorkitError as e:
            if isinstance(e, ReplayError):
                raise
            raise ReplayError(f"replaying step {entry.seq} ({entry.kind} {entry.type}) of "
                              f"{name} failed: {type(e).__name__}: {e}; the chart or its "
                              f"hooks behave differently now") from e
        assert actor is not None
        if actor.seq != entry.seq:
            raise ReplayError(f"replaying step {entry.seq} ({entry.kind} {entry.type}) of "
                              f"{name} gave step {actor.seq}: the chart or its hooks behave "
                              f"differently now")
    if actor is None:
        raise ReplayError(f"the journal of {name} is empty")
    return actor


def _apply(actor: Actor, entry: Entry, failed: dict[int, str]) -> None:
    data = dict(entry.data or {})
    if entry.kind == "event":  # journaled, so committed, even if no transition took it
        actor.send({"type": entry.type, **data}, entry.caller, commit_unhandled=True)
    elif entry.kind == "message":
        seq, index = data["message"]
        actor.receive({"seq": seq, "index": index,
                       "event": {"type": entry.type, **(data.get("data") or {})}}, entry.caller)
    elif entry.type in ("DELIVERED", "MESSAGE_FAILED") and "message" in data:
        seq, index = data["message"]
        actor.delivered(seq, index, data.get("error") if entry.type == "MESSAGE_FAILED"
                        else None, failed=entry.error)
    elif entry.kind == "timer":
        actor.advance(entry.time, failed=failed)
    elif entry.type == "CONNECT":
        actor.connect(Caller.from_json(data["connectingCaller"]))
    elif entry.type == "DISCONNECT":
        actor.disconnect(Caller.from_json(data["disconnectingCaller"]))
    elif entry.type == "RESUME":
        actor.resume()
    elif entry.type == "MIGRATE":
        actor.migrated(int(data["fromVersion"]), int(data["toVersion"]))
    else:
        raise ReplayError(f"unknown journal entry {entry.kind} {entry.type} at step "
                          f"{entry.seq}")


async def up_to(store: Store, actor_type: str, actor_id: str, seq: int, *,
                most: int | None = None, page: int = 1000) -> list[Entry]:
    """The actor's journal from its start up to and including step ``seq`` (read ``page``
    entries at a time; with ``most``, no further than that many entries)."""
    journal: list[Entry] = []
    while most is None or len(journal) < most:
        more = await store.journal(actor_type, actor_id,
                                   after=journal[-1].seq if journal else -1, limit=page)
        journal.extend(e for e in more if e.seq <= seq)
        if len(more) < page or more[-1].seq >= seq:  # a short page is the last
            break
    return journal


@dataclass(frozen=True)
class Verdict:
    """What replaying a stored actor's journal found: how many entries ran (from the last
    migration, ``since``, if there was one), to which step, the checksums of the stored
    snapshot and of the rebuilt one, and where they first differ (``None`` if they do not)."""

    entries: int
    since: int | None
    seq: int
    stored: str
    rebuilt: str
    difference: Difference | None = None

    @property
    def same(self) -> bool:
        return self.stored == self.rebuilt


async def verify(store: Store, chart: Chart, stored: Stored, *, page: int = 1000) -> Verdict:
    """Replay the journal of the ``stored`` actor (of ``chart``'s current version) and compare
    the result with its stored snapshot. Raises :class:`ReplayError` if it does not replay."""
    name = f"{stored.actor_type}/{stored.actor_id}"
    if stored.version != chart.version:
        raise ReplayError(f"{name} is stored at chart version {stored.version} and the chart "
                          f"is now version {chart.version}: it is migrated when it is next "
                          f"touched (serve it, or send it an event); replay it after that")
    # Up to the stored step only: a live server may have committed more since it was read.
    journal = await up_to(store, stored.actor_type, stored.actor_id, stored.seq, page=page)
    rebuilt = replay(chart, stored.actor_id, journal)
    ran = replayable(journal)
    verdict = Verdict(len(ran), ran[0].seq if ran[0].kind == "migrate" else None, rebuilt.seq,
                      checksum(stored.snapshot), checksum(rebuilt.snapshot_json()))
    if verdict.same:
        return verdict
    try:
        kept = orjson.loads(stored.snapshot)
    except orjson.JSONDecodeError:  # not JSON at all: it differs as a whole
        kept = stored.snapshot.decode(errors="replace")
    return replace(verdict, difference=first_difference(orjson.loads(rebuilt.snapshot_json()),
                                                        kept))
