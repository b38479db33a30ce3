"""Hooks of charts/diary.yaml, with the planted leak in share."""


def write(ctx, event):
    ctx.mine["note"] = event.data["text"]
    ctx.public["entries"] += 1
    ctx.context["writer"] = ctx.caller.id


def share(ctx, event):
    writer = ctx.context["writer"]
    if writer is not None:
        ctx.public["preview"] = ctx.private[writer]["note"]  # the leak: someone else's note
