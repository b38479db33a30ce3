"""Hooks for tests/charts/txn.yaml."""


def inc(ctx, event):
    ctx.public["count"] += event.data.get("by", 1)


def boom(ctx, event):
    raise RuntimeError("kaboom")


def log_exit(ctx, event):
    ctx.public["log"].append(f"exit {ctx.state} on {event.name if event else None}")


def log_entry(ctx, event):
    ctx.public["log"].append(f"enter {ctx.state} on {event.name} by {event.caller.id}")


def bad_guard(ctx, event):
    return 1 / 0


def always(ctx, event):
    return True


def break_public(ctx, event):
    ctx.public["count"] = "not a number"


def put_set(ctx, event):
    ctx.public["log"].append({1, 2})


def emit_bad(ctx, event):
    ctx.emit("SAID", words=42)


def emit_unknown(ctx, event):
    ctx.emit("NOT_DECLARED")


def sends(ctx, event):
    ctx.send("PONG")
    return True


def click(ctx, event):
    ctx.mine["clicks"] += 1


def break_private(ctx, event):
    ctx.private[ctx.caller.id]["clicks"] = "many"


def peek_other(ctx, event):
    # Reads (and so creates) another caller's bucket: allowed, and checked like the rest.
    ctx.private["zoe"]["clicks"] += 10


def ping(ctx, event):
    ctx.send("PONG", by=5)


def start_loop(ctx, event):
    ctx.context["seen"] = 1


def say(ctx, event):
    ctx.emit("SAID", words=event.data["words"])


def make_ids(ctx, event):
    ctx.public["log"].extend([ctx.new_id(), ctx.new_id()])


def note(ctx, event):
    ctx.context["notes"].append(f"note {ctx.seq}")


def spoil_input(ctx, event):
    ctx.input["spoiled"] = True
