"""Jobs: what the actor system asks of an actor (make it, bring it back from its store, run an
event, a timer or a lifecycle event), written down as data.

The actor system runs a job in its own process first; one whose code runs past a short budget
is rolled back and run again from the start in a worker process (:mod:`actorkit.workers`),
where the step deadline applies and a step stuck for good can be stopped. Both run the same
functions here, so a job gives the same result wherever it runs: hooks take their time from
the step and their ids from its sequence number, so the second run is the first one again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import orjson

from .actor import Actor, StepResult
from .chart import Chart
from .errors import ActorkitError, BoundError, ContextError, StepError
from .events import Caller
from .journal import entries
from .migrate import migrate_snapshot
from .store.base import Entry

__all__ = ["Done", "Job", "Op", "bring_back", "run"]

#: The operations a cell runs on its actor, by method name.
OpName = Literal["send", "can", "advance", "connect", "disconnect", "resume", "receive",
                 "delivered"]


class Op(NamedTuple):
    """One operation on an actor: the :class:`~actorkit.Actor` method and its arguments. (A
    named tuple: one is made for every event, and a frozen dataclass costs ten times as
    much to make.)"""

    name: OpName
    args: tuple[Any, ...] = ()

    def __call__(self, actor: Actor) -> Any:
        return getattr(actor, self.name)(*self.args)

    @property
    def event_type(self) -> str | None:
        """The type of the event it sends (``None`` for timers), for its errors."""
        if self.name in ("send", "can"):
            return str(self.args[0].get("type"))
        if self.name == "receive":
            return str(self.args[0]["event"].get("type"))
        return _LIFECYCLE.get(self.name)

    @property
    def lifecycle(self) -> bool:
        """Whether it is a lifecycle event (CONNECT, DISCONNECT, RESUME): one the runtime
        sends, not a caller."""
        return self.name in _LIFECYCLE


#: The lifecycle operations and the system event each sends.
_LIFECYCLE = {"connect": "CONNECT", "disconnect": "DISCONNECT", "resume": "RESUME"}


def bring_back(chart: Chart, snap: dict[str, Any], clock: Callable[[], float],
               max_state: int | None = None) -> tuple[Actor, list[Entry]]:
    """A stored actor (its snapshot, parsed) as it comes back: migrated if its chart version
    is older (with MIGRATE), its overdue timers run, then RESUME. Returns the actor and the
    journal entries to commit; raises if any of it fails (nothing is to be stored then).
    ``max_state`` as for :meth:`Actor.restore`."""
    old = snap.get("actor", {}).get("version")
    journal: list[Entry] = []
    if old == chart.version:
        actor = Actor.restore(chart, snap, clock=clock, max_state=max_state)
    else:
        migrated = migrate_snapshot(chart, snap)  # SnapshotError: the stored one stays
        actor = Actor.restore(chart, migrated, clock=clock, max_state=max_state)
        journal.append(Entry(actor.seq, actor.time, "migrate", Caller.system(actor.id),
                             None, {"fromVersion": old, "toVersion": chart.version,
                                    "snapshot": migrated}))
    actor.record_steps = True
    try:
        if journal:
            actor.migrated(int(old), chart.version)
        actor.advance(clock())  # so a read right after a restart sees them
        actor.resume()
    except StepError as e:
        failed = e
        if isinstance(e, BoundError):  # the actor's own step: not the fault of who touched it
            failed = ContextError(str(e), pointer=e.pointer)
            failed.event_type = e.event_type
        failed.step_message = str(e)  # what the step said, for a quarantine's reason
        failed.args = (f"{chart.actor_type}/{actor.id} could not be brought back: its "
                       f"{e.event_type} step failed: {e}; the stored actor is unchanged and "
                       f"is brought back again on its next touch",)
        if failed is e:
            raise
        raise failed from e
    journal += entries(actor.take_steps())
    return actor, journal


@dataclass(slots=True)
class Job:
    """A job for a worker process: which chart (its file and fingerprint, so the worker
    loads the very chart the server runs), the time the job runs at, the deadline of each
    of its steps, the server's limit on an actor's state (``max_state``), and what to do:
    ``spawn`` (``actor_id``, ``caller``, ``input``), ``restore`` (the stored ``snapshot``)
    or ``op`` (the actor's ``snapshot`` and ``op``)."""

    kind: Literal["spawn", "restore", "op"]
    chart: str
    fingerprint: str
    now: float
    deadline: float
    snapshot: bytes = b""
    op: Op | None = None
    actor_id: str = ""
    caller: Caller | None = None
    input: Any = None
    max_state: int | None = None


@dataclass(slots=True)
class Done:
    """What a job did: the actor's snapshot after it (empty if there is no actor: a spawn or
    a restore that failed), the steps an ``op`` committed, the journal entries a ``restore``
    makes, the operation's result or its failure, and the seconds its last step took."""

    snapshot: bytes = b""
    steps: list[StepResult] = field(default_factory=list)
    journal: list[Entry] = field(default_factory=list)
    result: Any = None
    failure: ActorkitError | None = None
    seconds: float = 0.0


def run(chart: Chart, job: Job) -> Done:
    """Do ``job`` on ``chart``, at the job's time."""
    def clock() -> float:
        return job.now

    try:
        if job.kind == "spawn":
            assert job.caller is not None
            actor = Actor.spawn(chart, job.actor_id, caller=job.caller, input=job.input,
                                clock=clock, max_state=job.max_state)
            return Done(actor.snapshot_json())
        if job.kind == "restore":
            actor, journal = bring_back(chart, orjson.loads(job.snapshot), clock,
                                        job.max_state)
            return Done(actor.snapshot_json(), journal=journal)
        assert job.op is not None
        actor = Actor.restore(chart, job.snapshot, clock=clock, max_state=job.max_state)
        actor.record_steps = True
        try:
            result, failure = job.op(actor), None
        except ActorkitError as e:
            result, failure = None, e
        return Done(actor.snapshot_json(), actor.take_steps(), result=result, failure=failure)
    except ActorkitError as e:
        return Done(failure=e)
