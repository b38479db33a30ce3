"""Hooks of the scxml fixture charts: each writes what ran into ``public.log``."""


def enter(ctx, event):
    ctx.public["log"].append(f"+{ctx.state}")


def leave(ctx, event):
    ctx.public["log"].append(f"-{ctx.state}")


def note(ctx, event):
    ctx.public["log"].append(event.name if event is not None else None)


def get_ready(ctx, event):
    ctx.public["ready"] = True


def is_ready(ctx, event):
    return ctx.public["ready"]
