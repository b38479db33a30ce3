def arm(ctx, event):
    ctx.schedule("DIM", delay=5, within="lit")
    ctx.schedule("REPORT", delay=5)


def arm_nowhere(ctx, event):
    ctx.schedule("DIM", delay=1, within="nowhere")


def dim(ctx, event):
    ctx.public["dimmed"] = True


def report(ctx, event):
    ctx.public["reports"] += 1
