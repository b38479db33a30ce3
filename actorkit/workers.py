"""Worker processes: where a job whose code ran past the inline budget runs again, under the
step deadline, away from the event loop that serves every other actor.

A worker is ``python -m actorkit.workers``, started when first needed and kept for the next
job. It loads the charts it is asked for (checking they are the ones the server runs), and
runs each job's steps with a deadline each: code past it is interrupted and the step fails
with :class:`~actorkit.DeadlineError`, rolled back. A worker stuck where no interrupt reaches
(a long call into C) is killed once the deadline and a grace period have passed, and the job
fails the same way; a new worker takes the next job. A worker's memory is capped, so a hook
that allocates without end fails with ``MemoryError`` instead of taking the machine's memory.

Jobs and results cross a socket pair as pickles: the worker is the server's own child and
nothing else can reach the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import pickle
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque

from . import deadline
from .chart import Chart, load_chart
from .deadline import Status
from .errors import ActorkitError, DeadlineError, StepError
from .jobs import Done, Job, run

__all__ = ["GRACE", "WorkerError", "Workers"]

#: Seconds a worker gets past a step's deadline to answer before it is killed.
GRACE = 1.0
#: Seconds a new worker may take to start and load a chart before its first step.
STARTUP = 30.0

_LENGTH = struct.Struct("!I")


class WorkerError(StepError):
    """A worker process could not run the job: it died, or the server is shutting down."""


class Workers:
    """At most ``size`` worker processes, each with ``memory`` bytes of data at most; they run
    one job at a time each, and jobs wait their turn."""

    def __init__(self, size: int, memory: int) -> None:
        self.size = size
        self.memory = memory
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def run(self, job: Job) -> Done:
        """Run ``job`` in a worker; its failure, if any, is in the result. Raises
        :class:`~actorkit.DeadlineError` for a step the worker could not be made to stop and
        :class:`WorkerError` when the job could not run at all: the server is stopping, or
        every worker stayed busy for the job's deadline."""
        try:
            worker = await asyncio.wait_for(self._take(), job.deadline)
        except TimeoutError:
            raise WorkerError(f"every worker process was busy with steps that run long for "
                              f"{job.deadline:g} s (the step's deadline): the step did not "
                              f"run; send it again, or raise ACTORKIT_STEP_WORKERS") from None
        try:
            done = await worker.run(job)
        except BaseException:
            self._drop(worker)
            raise
        self._give_back(worker)
        return done

    async def close(self) -> None:
        """Stop every worker; jobs under way fail with :class:`WorkerError`."""
        self._closed = True
        for worker in list(self._all):
            self._drop(worker)
        for waiter in self._waiting:
            if not waiter.done():
                waiter.set_result(None)

    @property
    def started(self) -> int:
        """How many worker processes are running."""
        return len(self._all)

    async def _take(self) -> _Worker:
        while True:
            if self._closed:
                raise WorkerError("the server is shutting down: the step did not run")
            if self._idle:
                return self._idle.pop()
            if len(self._all) < self.size:
                worker = _Worker(self.memory)
                self._all.add(worker)
                try:
                    await worker.start()
                except BaseException:
                    self._drop(worker)
                    raise
                return worker
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken as it gave up: the worker is for the next one
                raise
            finally:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)

    def _give_back(self, worker: _Worker) -> None:
        if self._closed:
            self._drop(worker)
            return
        self._idle.append(worker)
        self._wake_one()

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class _Worker:
    """One worker process and the socket to it."""

    def __init__(self, memory: int) -> None:
        self.memory = memory
        self.process: subprocess.Popen[bytes] | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self._file.truncate(Status.SIZE)
        self._map = mmap.mmap(self._file.fileno(), Status.SIZE)
        self.status = Status(self._map)

    async def start(self) -> None:
        ours, theirs = socket.socketpair()
        # The worker finds actorkit, the hooks and everything else where this process does.
        path = os.pathsep.join(p for p in sys.path if p)
        env = {**os.environ, "PYTHONPATH": path}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "actorkit.workers", str(theirs.fileno()),
                 str(self._file.fileno()), str(self.memory)],
                pass_fds=(theirs.fileno(), self._file.fileno()), stdin=subprocess.DEVNULL,
                env=env)
        finally:
            theirs.close()
        self.reader, self.writer = await asyncio.open_connection(sock=ours)

    async def run(self, job: Job) -> Done:
        assert self.reader is not None and self.writer is not None
        sent = time.monotonic()
        self.status.started(0.0)
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(_LENGTH.pack(len(data)) + data)
        await self.writer.drain()
        answer = asyncio.ensure_future(_read(self.reader))
        try:
            while True:
                started, hook = self.status.read()
                limit = (started if started else sent + STARTUP) + job.deadline + GRACE
                wait = limit - time.monotonic()
                if wait > 0:
                    finished, _ = await asyncio.wait({answer}, timeout=min(wait, 1.0))
                    if finished:
                        done: Done = pickle.loads(answer.result())
                        return done
                    continue
                what = f"hook `{hook}`" if hook.isidentifier() else (hook or "its code")
                raise DeadlineError(
                    f"{what} was still running {GRACE:g} s after the step's deadline of "
                    f"{job.deadline:g} s had passed (stuck in a call the deadline cannot "
                    f"interrupt, or catching the interrupt): the worker process running it "
                    f"was stopped and the step rolled back; make it faster, or give the "
                    f"chart a longer `deadline:`", hook=hook if hook.isidentifier() else None,
                    where=None, deadline=job.deadline)
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            code = self.process.poll() if self.process is not None else None
            raise WorkerError(f"the worker process running the step stopped (exit code "
                              f"{code}): the step was rolled back") from e
        finally:
            answer.cancel()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=1.0)
        if self.writer is not None:
            self.writer.close()
        self._map.close()
        self._file.close()


async def _read(reader: asyncio.StreamReader) -> bytes:
    (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return await reader.readexactly(size)


# -- the worker's side -------------------------------------------------------------------------

def _serve(sock: socket.socket, status: Status) -> None:
    deadline.guard.status = status
    charts: dict[str, Chart] = {}
    stream = sock.makefile("rb")
    while True:
        head = stream.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return  # the server closed the socket: its worker is no longer needed
        job: Job = pickle.loads(stream.read(_LENGTH.unpack(head)[0]))
        try:
            chart = _chart(charts, job)
            status.started(time.monotonic())
            deadline.arm(job.deadline, per_step=True)
            try:
                done = run(chart, job)
            finally:
                deadline.disarm()
        except ActorkitError as e:
            done = Done(failure=e)
        done.seconds = time.monotonic() - status.read()[0]
        data = pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL)
        sock.sendall(_LENGTH.pack(len(data)) + data)


def _chart(charts: dict[str, Chart], job: Job) -> Chart:
    chart = charts.get(job.chart)
    if chart is None:
        chart = charts[job.chart] = load_chart(job.chart)
    if chart.fingerprint != job.fingerprint:
        raise WorkerError(f"{job.chart} (or its hooks or schemas) changed since the server "
                          f"loaded it, so a worker cannot run the server's chart: restart "
                          f"the server")
    return chart


def _die_with_parent() -> None:
    """Have the kernel kill this process when the server dies (even by SIGKILL), so that
    no worker outlives it, stuck in a hook. Linux only; elsewhere the closed socket ends
    an idle worker."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the server died before that took effect
        os._exit(0)


def main(argv: list[str]) -> int:
    sock_fd, status_fd, memory = (int(a) for a in argv)
    _die_with_parent()
    # Ctrl-C reaches the whole process group: the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(ValueError, OSError):  # a lower hard limit stays as it is
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    sock = socket.socket(fileno=sock_fd)
    status = Status(mmap.mmap(status_fd, Status.SIZE))
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError, ConnectionError):
        _serve(sock, status)
    return 0


if __name__ == "__main__":
    # Run from the module imported under its own name, not as __main__: what the worker
    # pickles (its errors) must unpickle as actorkit.workers' in the server.
    from actorkit import workers

    sys.exit(workers.main(sys.argv[1:]))
