def arm_report(ctx, event):
    ctx.schedule("REPORT", delay=5)  # on dark -> lit: belongs to their parent, root


def arm_dim(ctx, event):
    ctx.schedule("DIM", delay=5)  # on entry of lit: belongs to lit


def arm_snooze(ctx, event):
    ctx.schedule("SNOOZED", delay=5)  # a transition without a target, in lit


def arm_nowhere(ctx, event):
    ctx.schedule("DIM", delay=1, within="nowhere")


def dim(ctx, event):
    ctx.public["dimmed"] = True


def report(ctx, event):
    ctx.public["reports"] += 1


def snoozed(ctx, event):
    ctx.public["snoozed"] += 1
