"""Hooks of charts/alarm.yaml, with the planted bug in ring."""


def snooze(ctx, event):
    ctx.public["snoozes"] += 1
    ctx.schedule("RING", delay=event.data["minutes"] * 60)


def ring(ctx, event):
    ctx.public["rings"] = f"{ctx.public['rings'] + 1} rings"  # the bug: text, not a number
