"""Hooks of the tally and vault test charts."""


def initialize(ctx, event):
    ctx.public["start"] = ctx.input.get("start", 0)


def take(ctx, event):
    ctx.public["numbers"].append(event.data["n"])
    if ctx.caller.id not in ctx.public["senders"]:
        ctx.public["senders"].append(ctx.caller.id)


def reply(ctx, event):
    sender_type, sender_id = ctx.caller.sender
    ctx.tell(sender_type, sender_id, "REPLY", n=event.data["n"])


def boom(ctx, event):
    raise ValueError("boom")
