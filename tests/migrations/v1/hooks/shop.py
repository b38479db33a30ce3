"""Hooks of tests/migrations/v1/shop.yaml."""


def scan(ctx, event):
    ctx.public["items"].append(event.data["item"])
    ctx.public["total"] += event.data["price"]
    ctx.mine["cart"].append(event.data["item"])
    ctx.context["visits"] += 1
