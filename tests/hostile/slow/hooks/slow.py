"""Hooks that run too long, each in its own way."""

import time


def add(ctx, event):
    ctx.public["done"].append(event.data["text"])


def loop_forever(ctx, event):
    ctx.public["done"].append("looping")  # rolled back with the step
    while True:
        pass


def sleep(ctx, event):
    time.sleep(event.data["seconds"])
    ctx.public["done"].append("slept")


def swallow_interrupts(ctx, event):
    # A hook that catches everything, the deadline's interrupt included, and carries on.
    while True:
        try:
            while True:
                pass
        except BaseException:  # that is the point
            pass


def work(ctx, event):
    """Busy for the given seconds, then done: a slow step that finishes."""
    end = time.monotonic() + event.data["seconds"]
    n = 0
    while time.monotonic() < end:
        n += 1
    ctx.public["done"].append("worked")


def allocate(ctx, event):
    block = bytearray(event.data["megabytes"] * 1024 * 1024)
    ctx.public["done"].append(f"allocated {len(block) // (1024 * 1024)} MB")


def loop_later(ctx, event):
    ctx.schedule("LOOP_TICK", delay=event.data["delay"])


def tick(ctx, event):
    ctx.public["ticks"] += 1
