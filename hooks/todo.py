"""Hooks of the todo chart (charts/todo.yaml)."""

MAX_ACTIVITY = 20


def _log(ctx, what, **details):
    ctx.context["activity"].append({"what": what, "by": ctx.caller.id, "at": ctx.now, **details})
    del ctx.context["activity"][:-MAX_ACTIVITY]


def _find(ctx, todo_id):
    return next((t for t in ctx.public["todos"] if t["id"] == todo_id), None)


def todo_exists(ctx, event):
    return _find(ctx, event.data["id"]) is not None


def add_todo(ctx, event):
    todo = {"id": ctx.new_id(), "text": event.data["text"], "completed": False}
    ctx.public["todos"].append(todo)
    _log(ctx, "added", id=todo["id"])
    ctx.emit("TODO_ADDED", todo=todo)


def toggle_todo(ctx, event):
    todo = _find(ctx, event.data["id"])
    todo["completed"] = not todo["completed"]
    _log(ctx, "toggled", id=todo["id"])
    ctx.emit("TODO_TOGGLED", id=todo["id"], completed=todo["completed"])


def remove_todo(ctx, event):
    ctx.public["todos"] = [t for t in ctx.public["todos"] if t["id"] != event.data["id"]]
    _log(ctx, "removed", id=event.data["id"])
    ctx.emit("TODO_REMOVED", id=event.data["id"])


def sync_todos(ctx, event):
    ctx.public["todos"] = event.data["todos"]
    ctx.public["lastSync"] = ctx.now
    _log(ctx, "synced", count=len(event.data["todos"]))


def set_filter(ctx, event):
    ctx.mine["filter"] = event.data["filter"]
