"""Hooks for tests/charts/notes.yaml."""


def note(ctx, event):
    ctx.mine["notes"].append(event.data["text"])
    ctx.public["count"] += 1


def shout(ctx, event):
    ctx.public["last"] = event.data["text"]


def forget(ctx, event):
    ctx.mine["notes"] = []
