"""Hooks of charts/bank.yaml, with the planted bug in withdraw_with_fee."""

CARD_FEE = 10


def deposit(ctx, event):
    ctx.public["balance"] += event.data["amount"]


def covered(ctx, event):
    return ctx.public["balance"] >= event.data["amount"]


def withdraw(ctx, event):
    ctx.public["balance"] -= event.data["amount"]


def withdraw_with_fee(ctx, event):
    ctx.public["balance"] -= event.data["amount"] + CARD_FEE  # the bug: fee not covered
