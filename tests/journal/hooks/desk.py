"""Hooks of tests/journal/charts/desk.yaml."""


def note(ctx, event):
    name = event.name if event is not None else None
    text = event.data.get("text") if event is not None else None
    ctx.public["log"].append([name, text, ctx.caller.id, ctx.state, ctx.now])
    ctx.context["ids"].append(ctx.new_id())


def later(ctx, event):
    ctx.schedule(event.data["what"], delay=event.data["in"], text=f"after {event.data['in']}")


def fail(ctx, event):
    raise RuntimeError("this timer always fails")


def connect(ctx, event):
    ctx.public["online"].append(event.data["connectingCaller"]["id"])


def disconnect(ctx, event):
    ctx.public["online"].remove(event.data["disconnectingCaller"]["id"])


def resume(ctx, event):
    ctx.public["resumed"] += 1
