"""Step deadlines: the interrupt that stops a chart's code when its step has run too long.

A step's hooks and inline code are the user's; one that loops or sleeps must not hold the
server. Whoever runs steps :func:`arm`\\ s a budget before a step and :func:`disarm`\\ s it
after. While the chart's code runs (from :func:`enter` to the end of the actor's region around
that code), a budget that has run out raises :class:`Interrupted` into that code; the
actor rolls the step back as for any failure. Outside the chart's code (actorkit's own
bookkeeping) nothing is ever interrupted: a budget that runs out there takes effect when the
chart's code is next entered.

On the main thread the interrupt comes from a SIGALRM handler, fed every 10 ms by an interval
timer that runs only while steps do (it stops after a second without one); a signal also cuts
short a ``time.sleep()`` or a blocking read. On another thread a watcher thread raises it with
``PyThreadState_SetAsyncExc``, which takes effect at the next bytecode, so a sleep there runs
to its end first. Neither can stop a single long call into C that holds the GIL (a huge
allocation, a catastrophic regular expression): the interrupt comes when that call returns.
"""

from __future__ import annotations

import atexit
import ctypes
import math
import signal
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import DeadlineError

T = TypeVar("T")

__all__ = ["TICK", "Interrupted", "Status", "arm", "attempt", "chart_code", "disarm", "enter",
           "expired", "failure", "guard", "take_back"]

#: How often a running budget is checked, in seconds.
TICK = 0.01
#: Ticks without a step after which the main thread's interval timer stops.
_IDLE_TICKS = 100


class Interrupted(BaseException):
    """Raised into a step's code when the step's time is up. A ``BaseException``, so that a
    hook's ``except Exception`` does not swallow it. ``hook`` (a hook's name, or the inline
    code), ``where`` (its place in the chart) and ``what`` (both, for a message) say which
    code was running; they are set as it leaves that code."""

    hook: str | None = None
    where: str | None = None
    what: str | None = None

    def ran(self, hook: str, where: str, what: str) -> None:
        """Say which code was running, unless code inside it already did."""
        if self.hook is None:
            self.hook, self.where, self.what = hook, where, what


class _Guard:
    """The process's one budget. ``user``: the chart's code is running; ``until``: when the
    armed budget ends (monotonic; infinite when none is armed); ``fired``: it has ended."""

    __slots__ = ("async_sent", "budget", "fired", "idle", "per_step", "status", "target",
                 "ticking", "until", "user", "watcher")

    def __init__(self) -> None:
        self.user = False
        self.until = math.inf
        self.budget = math.inf
        self.per_step = False  # every step gets the whole budget (else: all of them share it)
        self.fired = False
        #: where a worker process shows its parent when its step started and which hook
        #: runs (see :mod:`actorkit.workers`); ``None`` elsewhere
        self.status: Status | None = None
        self.ticking = False  # the main thread's interval timer runs
        self.idle = 0
        self.target = 0  # the thread whose step is armed
        self.async_sent = False  # an interrupt was queued with PyThreadState_SetAsyncExc
        self.watcher: threading.Thread | None = None


class Status:
    """A few bytes shared with another process: when the running step started (monotonic
    seconds, the same clock in every process) and the hook that runs, so that a parent can
    tell a step stuck past its deadline and name it, even when the step's process cannot
    answer. Backed by a writable buffer (a memory map)."""

    SIZE = 128
    _HEAD = struct.Struct("d")

    __slots__ = ("buffer",)

    def __init__(self, buffer: bytearray | memoryview | object) -> None:
        self.buffer = buffer

    def started(self, at: float) -> None:
        self._HEAD.pack_into(self.buffer, 0, at)  # type: ignore[arg-type]
        self.hook("")

    def hook(self, name: str) -> None:
        raw = name.encode("utf-8", "replace")[:self.SIZE - 9]
        self.buffer[8:self.SIZE] = raw + b"\0" * (self.SIZE - 8 - len(raw))  # type: ignore[index]

    def read(self) -> tuple[float, str]:
        """When the running step started (0: none yet) and its hook ("": none known)."""
        at = self._HEAD.unpack_from(self.buffer, 0)[0]  # type: ignore[arg-type]
        raw = bytes(self.buffer[8:self.SIZE])  # type: ignore[index]
        return at, raw.split(b"\0", 1)[0].decode("utf-8", "replace")


guard = _Guard()
_MAIN = threading.main_thread().ident
_monotonic = time.monotonic
_get_ident = threading.get_ident


def arm(seconds: float, *, per_step: bool = False) -> None:
    """Give what is about to run on this thread ``seconds`` (checked every :data:`TICK`):
    all of its steps together, or with ``per_step`` each step on its own. An interrupt of a
    ``per_step`` budget is the step's final failure (the actor turns it into a
    :class:`~actorkit.DeadlineError`); otherwise whoever armed it decides what comes next."""
    g = guard
    g.budget = seconds
    g.per_step = per_step
    g.until = _monotonic() + seconds
    g.fired = False
    g.target = ident = _get_ident()
    if g.ticking and ident == _MAIN:
        return  # on every step of a busy server: nothing more to do
    if ident == _MAIN and _signals_free():
        signal.signal(signal.SIGALRM, _on_tick)
        signal.setitimer(signal.ITIMER_REAL, TICK, TICK)
        g.ticking = True
        atexit.register(_stop_ticks)  # a tick after Python's own handlers are gone kills
    elif g.watcher is None:
        g.watcher = threading.Thread(target=_watch, name="actorkit-deadline", daemon=True)
        g.watcher.start()


def disarm() -> None:
    """The step ended: no budget runs until the next :func:`arm`."""
    g = guard
    g.until = math.inf
    g.fired = False
    g.per_step = False


def expired() -> bool:
    """Whether the armed budget has run out (the step's time is up)."""
    return guard.fired or time.monotonic() >= guard.until


def enter() -> None:
    """The chart's code starts: from now on a budget that runs out interrupts it (at once,
    if it already has). The caller ends the region with ``guard.user = False`` as the first
    statement of a ``finally`` (a plain store: no call, at which an interrupt could land
    after the region), then :func:`take_back` if ``guard.async_sent``; and the region sits
    inside code that rolls the step back on any ``BaseException``."""
    g = guard
    if g.per_step:
        g.until = time.monotonic() + g.budget
        g.fired = False
        if g.status is not None:
            g.status.started(g.until - g.budget)
    elif g.fired:
        raise Interrupted()
    g.user = True


def take_back() -> None:
    """Withdraw an interrupt queued for this thread by the watcher but not raised yet."""
    guard.async_sent = False
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(threading.get_ident()), None)


def attempt(seconds: float, run: Callable[..., T], *args: Any) -> tuple[bool, T | None]:
    """``run(*args)`` with ``seconds`` of budget for all its steps: ``(True, its result)``, or
    ``(False, None)`` when it ran past them (its step rolled back; what comes next is the
    caller's to decide). Its other exceptions pass through."""
    arm(seconds)
    try:
        return True, run(*args)
    except Interrupted:
        return False, None
    finally:
        disarm()


def chart_code(run: Callable[[], T], hook: str, where: str, what: str) -> T:
    """``run()``, the chart's code outside a step (the preamble, the migrate hook), as a
    region :func:`enter` opens. Interrupted by a ``per_step`` budget, it fails with
    :class:`~actorkit.DeadlineError` naming ``what`` ran; by another budget, the
    :class:`Interrupted` passes on."""
    try:
        enter()
        try:
            return run()
        finally:
            guard.user = False  # first, before any call: see enter()
            if guard.async_sent:
                take_back()
    except Interrupted as e:
        if not guard.per_step:
            raise
        e.ran(hook, where, what)
        raise failure(e) from None


def failure(e: Interrupted) -> DeadlineError:
    """The failure of a step whose code a ``per_step`` budget interrupted."""
    seconds = guard.budget
    what = e.what or "the step's code"
    return DeadlineError(f"{what} was still running when the step's deadline of {seconds:g} s "
                         f"passed: the step was rolled back; make it faster, or give the "
                         f"chart a longer `deadline:`", hook=e.hook, where=e.where,
                         deadline=seconds)


def _signals_free() -> bool:
    """Whether SIGALRM is free for the ticks (not used by the application itself)."""
    handler = signal.getsignal(signal.SIGALRM)
    return handler in (signal.SIG_DFL, None, _on_tick)


def _stop_ticks() -> None:
    g = guard
    if g.ticking:
        signal.setitimer(signal.ITIMER_REAL, 0)
        g.ticking = False
        g.idle = 0
        atexit.unregister(_stop_ticks)


def _on_tick(signum: int, frame: object) -> None:
    g = guard
    if g.until == math.inf:
        g.idle += 1
        if g.idle >= _IDLE_TICKS:
            _stop_ticks()
        return
    g.idle = 0
    if g.target == _MAIN and time.monotonic() >= g.until:  # else the watcher's
        g.fired = True
        if g.user:  # raised again on every tick, should the code swallow it
            raise Interrupted()


def _watch() -> None:
    g = guard
    while True:
        time.sleep(TICK)
        if g.target == _MAIN and g.ticking:
            continue  # the main thread's own ticks see to it
        if g.until != math.inf and time.monotonic() >= g.until:
            g.fired = True
            if g.user:  # queued again on every tick, should the code swallow it
                g.async_sent = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(g.target),
                                                           ctypes.py_object(Interrupted))
