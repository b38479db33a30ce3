"""Hooks of the room chart (charts/room.yaml): a lobby starts it, a player wins it, and the
lobby hears of both."""


def start(ctx, event):
    _, lobby = ctx.caller.sender  # START comes from the lobby that spawned the room
    ctx.public["lobby"] = lobby
    ctx.public["players"] = ctx.input["players"]
    ctx.tell("lobby", lobby, "ROOM_OPENED")


def is_player(ctx, event):
    return ctx.caller.id in ctx.public["players"]


def win(ctx, event):
    ctx.public["winner"] = ctx.caller.id
    ctx.tell("lobby", ctx.public["lobby"], "GAME_OVER", winner=ctx.caller.id)
