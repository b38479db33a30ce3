"""Hooks of charts/board.yaml: every move changes the context in place."""


def free(ctx, event):
    return ctx.public["board"][event.data["row"]][event.data["col"]] is None


def play(ctx, event):
    row, col = event.data["row"], event.data["col"]
    ctx.public["board"][row][col] = ctx.public["turn"]
    ctx.public["moves"].append([row, col])
    ctx.public["turn"] = "o" if ctx.public["turn"] == "x" else "x"
    ctx.mine["cells"].append([row, col])


def played(ctx, event):
    return bool(ctx.public["moves"])


def undo(ctx, event):
    row, col = ctx.public["moves"].pop()
    ctx.public["board"][row][col] = None
    ctx.public["turn"] = "o" if ctx.public["turn"] == "x" else "x"
    for bucket in ctx.private.values():
        if [row, col] in bucket["cells"]:
            bucket["cells"].remove([row, col])
