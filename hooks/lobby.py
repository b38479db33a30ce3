"""Hooks of the lobby chart (charts/lobby.yaml): it opens rooms (charts/room.yaml) with
``ctx.tell`` and keeps what they report back."""


def open_room(ctx, event):
    room = ctx.new_id()
    players = event.data["players"]
    ctx.public["rooms"][room] = {"players": players, "status": "opening", "winner": None}
    # Spawns the room (its chart lets lobbies do that) with the players as its input.
    ctx.tell("room", room, "START", input={"players": players})


def _room(ctx):
    """The id of the room that sent the event (its caller is ``actor:room/<id>``)."""
    sender_type, room = ctx.caller.sender or ("", "")
    return room if sender_type == "room" else None


def room_known(ctx, event):
    return _room(ctx) in ctx.public["rooms"]


def room_opened(ctx, event):
    ctx.public["rooms"][_room(ctx)]["status"] = "playing"


def game_over(ctx, event):
    room = ctx.public["rooms"][_room(ctx)]
    room["status"], room["winner"] = "over", event.data["winner"]


def room_failed(ctx, event):
    room = ctx.public["rooms"].get(event.data["to"]["id"])
    if event.data["to"]["type"] == "room" and room is not None:
        room["status"], room["error"] = "failed", event.data["error"][:200]
