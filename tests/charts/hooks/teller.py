"""Hooks of the teller test chart."""


def tell(ctx, event):
    d = event.data
    ctx.tell(d["to"], d["id"], d["event"], input=d.get("input"), **d.get("fields", {}))


def tell_many(ctx, event):
    d = event.data
    for n in range(d["count"]):
        ctx.tell(d["to"], d["id"], "NUMBER", n=n)


def fail(ctx, event):
    raise RuntimeError("the step fails after telling")


def note_failure(ctx, event):
    d = event.data
    ctx.public["failures"].append({"to": d["to"], "event": d["event"]["type"],
                                   "error": d["error"]})


def note_reply(ctx, event):
    ctx.public["replies"].append({"n": event.data["n"], "from": ctx.caller.id})
