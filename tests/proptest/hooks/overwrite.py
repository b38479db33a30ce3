"""Hooks of charts/overwrite.yaml, with the planted bug in free."""


def free(ctx, event):
    return ctx.public["board"][event.data["col"]][event.data["row"]] is None  # the bug: swapped


def play(ctx, event):
    row, col = event.data["row"], event.data["col"]
    ctx.public["board"][row][col] = ctx.public["turn"]
    ctx.public["moves"].append([row, col])
    ctx.public["turn"] = "o" if ctx.public["turn"] == "x" else "x"
