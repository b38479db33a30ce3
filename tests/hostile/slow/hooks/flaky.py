"""Hooks that fail, or never end, while FLAKY_BROKEN is set."""

import os


def _maybe_fail(what):
    broken = os.environ.get("FLAKY_BROKEN")
    if broken == "raise":
        raise RuntimeError(f"{what} is broken")
    if broken == "loop":
        while True:
            pass


def resume(ctx, event):
    _maybe_fail("resume")
    ctx.public["resumed"] += 1


def add(ctx, event):
    ctx.public["added"] += 1


def arm(ctx, event):
    ctx.schedule("TICK", delay=event.data["delay"])


def tick(ctx, event):
    _maybe_fail("tick")
    ctx.public["ticks"] += 1
