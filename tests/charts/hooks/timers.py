"""Hooks for tests/charts/timers.yaml."""


def note(ctx, event):
    ctx.public["fired"].append([event.name if event else None, ctx.state, ctx.now])


def remind(ctx, event):
    ctx.public["reminder"] = ctx.schedule("REMINDER", delay=event.data["in"], text="hi")


def forget(ctx, event):
    if ctx.public["reminder"] is not None:
        ctx.cancel(ctx.public["reminder"])
        ctx.public["reminder"] = None
