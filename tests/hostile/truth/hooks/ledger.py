"""Hooks of the ledger chart."""


def set_value(ctx, event):
    ctx.public["value"] = event.data["value"]


def calc(ctx, event):
    a, b = event.data["a"], event.data["b"]
    value = {"mul": lambda: a * b, "pow": lambda: a**b, "diff": lambda: a * b - a * b}[
        event.data["op"]]()
    into = event.data.get("into", "public")
    if into == "public":
        ctx.public["value"] = value
    elif into == "private":
        ctx.mine["value"] = value
    else:
        ctx.context["scratch"] = {"value": value}


def add_entry(ctx, event):
    ctx.public["entries"].append(event.data["text"])


def arrive(ctx, event):
    ctx.public["watchers"] += 1


def leave(ctx, event):
    ctx.public["watchers"] -= 1
