"""Hooks for tests/charts/lifecycle.yaml."""


def entered(ctx, event):
    ctx.public["entered_by"] = [ctx.caller.type, ctx.caller.id, event is None]


def initialize(ctx, event):
    ctx.public["owner"] = ctx.initial_caller.id
    ctx.public["topic"] = ctx.input["topic"]
    assert ctx.caller.type == "system"


def connect(ctx, event):
    ctx.public["online"].append(event.data["connectingCaller"]["id"])


def disconnect(ctx, event):
    ctx.public["online"].remove(event.data["disconnectingCaller"]["id"])


def resume(ctx, event):
    ctx.public["resumed"] += 1
