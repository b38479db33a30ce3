"""Hooks of charts/duel.yaml (tic-tac-toe), with the planted bug in LINES."""

# the bug: the last diagonal names cell 9 (it is 2, 4, 6); only the winner check reads it
LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 9)]


def _mark(ctx):
    players = ctx.public["players"]
    return next((mark for mark in ("x", "o") if players[mark] == ctx.caller.id), None)


def seat_free(ctx, event):
    players = ctx.public["players"]
    return _mark(ctx) is None and None in players.values()


def take_seat(ctx, event):
    players = ctx.public["players"]
    players["x" if players["x"] is None else "o"] = ctx.caller.id


def is_player(ctx, event):
    return _mark(ctx) is not None


def give_up_seat(ctx, event):
    ctx.public["players"][_mark(ctx)] = None


def both_seated(ctx, event):
    return None not in ctx.public["players"].values()


def clear_board(ctx, event):
    ctx.public.update(board=[None] * 9, moves=0, winner=None)


def forfeit(ctx, event):
    mark = _mark(ctx)
    ctx.public["winner"] = "o" if mark == "x" else "x"
    ctx.public["players"][mark] = None


def time_out(ctx, event):
    # whoever was to move loses and gives up the seat
    mark = "x" if ctx.public["moves"] % 2 == 0 else "o"
    ctx.public["winner"] = "o" if mark == "x" else "x"
    ctx.public["players"][mark] = None


def _legal(ctx, event, mark):
    return _mark(ctx) == mark and ctx.public["board"][event.data["cell"]] is None


def legal_for_x(ctx, event):
    return _legal(ctx, event, "x")


def legal_for_o(ctx, event):
    return _legal(ctx, event, "o")


def place(ctx, event):
    ctx.public["board"][event.data["cell"]] = _mark(ctx)
    ctx.public["moves"] += 1


def _outcome(public):
    """"x" or "o" if a line is all theirs, "draw" on a full board, else None."""
    board = public["board"]
    for line in LINES:
        marks = {board[cell] for cell in line}
        if len(marks) == 1 and None not in marks:
            return marks.pop()
    return "draw" if public["moves"] == 9 else None


def game_over(ctx, event):
    # no one can win before the fifth move
    return ctx.public["moves"] >= 5 and _outcome(ctx.public) is not None


def declare(ctx, event):
    ctx.public["winner"] = _outcome(ctx.public)


def x_next(ctx, event):
    return ctx.public["moves"] % 2 == 0


def o_next(ctx, event):
    return ctx.public["moves"] % 2 == 1
