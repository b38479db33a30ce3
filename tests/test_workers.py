"""Worker processes: a job runs there as it would in the server, under the step deadline; a
worker stuck for good is stopped, one out of memory fails its step, and none outlives the
server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from support import FakeClock, alice, process_alive

from actorkit import Actor, BoundError, DeadlineError, HookError, load_chart
from actorkit.jobs import Job, Op, run
from actorkit.workers import GRACE, WorkerError, Workers

HERE = Path(__file__).resolve().parent
SLOW = HERE / "hostile" / "slow" / "charts" / "slow.yaml"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def slow():
    return load_chart(SLOW)


def job(chart, kind, *, deadline=5.0, now=1_000_000.0, **fields) -> Job:
    return Job(kind, chart.file, chart.fingerprint, now, deadline, **fields)


async def in_workers(coroutine_of, size=1, memory=512 * MiB):
    workers = Workers(size, memory)
    try:
        return await coroutine_of(workers)
    finally:
        await workers.close()


def test_a_job_gives_in_a_worker_what_it_gives_here(slow):
    clock = FakeClock()
    here = Actor.spawn(slow, "a", caller=alice, clock=clock)
    here.record_steps = True
    event = {"type": "ADD", "text": "milk"}
    before = here.snapshot_json()
    here.send(event, alice)

    async def go(workers: Workers):
        spawned = await workers.run(job(slow, "spawn", now=clock.t, actor_id="a",
                                        caller=alice))
        sent = await workers.run(job(slow, "op", now=clock.t, snapshot=before,
                                     op=Op("send", (event, alice))))
        return spawned, sent

    spawned, sent = asyncio.run(in_workers(go))
    assert spawned.failure is None and spawned.snapshot == before
    assert sent.failure is None and sent.snapshot == here.snapshot_json()
    assert [(s.seq, s.type, s.data) for s in sent.steps] == \
        [(s.seq, s.type, s.data) for s in here.take_steps()]
    # ... and what `run` gives in this process too
    again = run(slow, job(slow, "op", now=clock.t, snapshot=before,
                          op=Op("send", (event, alice))))
    assert again.snapshot == sent.snapshot


def test_a_job_holds_the_state_to_the_servers_max_state(slow):
    before = Actor.spawn(slow, "a", caller=alice).snapshot_json()
    grow = Op("send", ({"type": "ADD", "text": "x" * 1000}, alice))
    done = run(slow, job(slow, "op", snapshot=before, op=grow, max_state=len(before) + 500))
    assert isinstance(done.failure, BoundError) and "past its limit of" in str(done.failure)
    assert not done.steps
    assert run(slow, job(slow, "op", snapshot=before, op=grow)).failure is None  # no limit
    spawned = run(slow, job(slow, "spawn", actor_id="b", caller=alice, max_state=10))
    assert isinstance(spawned.failure, BoundError)  # even its first state


def test_a_stored_actor_whose_own_step_passes_max_state_is_not_the_touchers_bound_error():
    from support import chart

    from actorkit import ContextError
    from actorkit.jobs import bring_back

    room = chart("lifecycle")
    snap = Actor.spawn(room, "r", caller=alice, input={"topic": "t"}).snapshot()
    snap["context"]["public"]["resumed"] = 9  # RESUME makes it 10: one byte more
    size = Actor.restore(room, snap)._measure()
    with pytest.raises(ContextError) as info:  # a 500, not the 409 of a sender's event
        bring_back(room, snap, FakeClock(), max_state=size)
    assert not isinstance(info.value, BoundError)
    assert "could not be brought back: its RESUME step failed" in str(info.value)
    assert isinstance(info.value.__cause__, BoundError)
    bring_back(room, snap, FakeClock(), max_state=size + 1)  # fits: it comes back


def test_a_step_past_its_deadline_fails_in_the_worker_which_carries_on(slow):
    before = Actor.spawn(slow, "a", caller=alice).snapshot_json()

    async def go(workers: Workers):
        looped = await workers.run(job(slow, "op", deadline=0.3, snapshot=before,
                                       op=Op("send", ({"type": "LOOP"}, alice))))
        added = await workers.run(job(slow, "op", snapshot=before,
                                      op=Op("send", ({"type": "ADD", "text": "x"}, alice))))
        return looped, added, workers.started

    looped, added, started = asyncio.run(in_workers(go))
    assert isinstance(looped.failure, DeadlineError) and looped.failure.hook == "loop_forever"
    assert looped.snapshot == before and not looped.steps
    assert added.failure is None and started == 1


def test_a_worker_stuck_where_no_interrupt_reaches_is_stopped_and_replaced(slow):
    before = Actor.spawn(slow, "a", caller=alice).snapshot_json()

    async def go(workers: Workers):
        started = time.monotonic()
        with pytest.raises(DeadlineError) as stuck:
            await workers.run(job(slow, "op", deadline=0.3, snapshot=before,
                                  op=Op("send", ({"type": "SWALLOW"}, alice))))
        took = time.monotonic() - started
        added = await workers.run(job(slow, "op", snapshot=before,
                                      op=Op("send", ({"type": "ADD", "text": "x"}, alice))))
        return stuck.value, took, added

    stuck, took, added = asyncio.run(in_workers(go))
    assert stuck.hook == "swallow_interrupts"
    assert "the worker process running it was stopped and the step rolled back" in str(stuck)
    assert took < 0.3 + GRACE + 3  # the first job also starts the worker
    assert added.failure is None


def test_a_step_that_allocates_past_the_workers_memory_fails_with_memory_error(slow):
    before = Actor.spawn(slow, "a", caller=alice).snapshot_json()

    async def go(workers: Workers):
        return await workers.run(job(slow, "op", snapshot=before,
                                     op=Op("send", ({"type": "ALLOCATE", "megabytes": 1024},
                                                    alice))))

    done = asyncio.run(in_workers(go, memory=256 * MiB))
    assert isinstance(done.failure, HookError)
    assert "hook `allocate` (action of transition running on ALLOCATE) raised MemoryError " \
           "(a step that runs in a worker process has ACTORKIT_STEP_MEMORY bytes)" \
           in str(done.failure)


def test_a_chart_changed_since_the_server_loaded_it_is_not_run_by_a_worker(slow):
    changed = job(slow, "spawn", actor_id="a", caller=alice)
    changed.fingerprint = "0" * 64
    done = asyncio.run(in_workers(lambda workers: workers.run(changed)))
    assert isinstance(done.failure, WorkerError)
    assert "changed since the server loaded it" in str(done.failure)
    assert "restart the server" in str(done.failure)


def test_a_job_waits_for_a_busy_worker_no_longer_than_its_deadline(slow):
    before = Actor.spawn(slow, "a", caller=alice).snapshot_json()

    async def go(workers: Workers):
        busy = asyncio.ensure_future(workers.run(job(
            slow, "op", deadline=2.0, snapshot=before,
            op=Op("send", ({"type": "WORK", "seconds": 1.5}, alice)))))
        while not workers.started:
            await asyncio.sleep(0.01)
        with pytest.raises(WorkerError, match="every worker process was busy with steps that "
                                              r"run long for 0\.2 s"):
            await workers.run(job(slow, "op", deadline=0.2, snapshot=before,
                                  op=Op("send", ({"type": "ADD", "text": "x"}, alice))))
        return await busy

    assert asyncio.run(in_workers(go)).failure is None


def test_closing_the_workers_fails_the_job_under_way(slow):
    before = Actor.spawn(slow, "a", caller=alice).snapshot_json()

    async def go():
        workers = Workers(1, 512 * MiB)
        running = asyncio.ensure_future(workers.run(job(
            slow, "op", deadline=30, snapshot=before,
            op=Op("send", ({"type": "LOOP"}, alice)))))
        await asyncio.sleep(1.5)
        started = time.monotonic()
        await workers.close()
        with pytest.raises(WorkerError, match="the worker process running the step stopped"):
            await running
        with pytest.raises(WorkerError, match="the server is shutting down"):
            await workers.run(job(slow, "spawn", actor_id="b", caller=alice))
        return time.monotonic() - started

    assert asyncio.run(go()) < 2


def test_no_worker_outlives_its_server_even_killed(tmp_path, slow):
    # A "server" that starts a worker on a step that never ends, then is killed with -9.
    script = tmp_path / "server.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, sys
        from actorkit import Actor, Caller, load_chart
        from actorkit.jobs import Job, Op
        from actorkit.workers import Workers

        chart = load_chart({str(SLOW)!r})
        alice = Caller.client("alice")
        snapshot = Actor.spawn(chart, "a", caller=alice).snapshot_json()

        async def main():
            workers = Workers(1, 512 * 1024 * 1024)
            asyncio.ensure_future(workers.run(Job(
                "op", chart.file, chart.fingerprint, 0.0, 3600.0, snapshot=snapshot,
                op=Op("send", ({{"type": "SWALLOW"}}, alice)))))
            while not workers.started:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            print(next(iter(workers._all)).process.pid, flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
    """))
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                          text=True) as server:
        try:
            worker = int(server.stdout.readline())  # type: ignore[union-attr]
            assert process_alive(worker)
        finally:
            server.kill()
    end = time.monotonic() + 5
    while process_alive(worker) and time.monotonic() < end:
        time.sleep(0.05)
    assert not process_alive(worker)
