"""Hooks of tests/migrations/v2/shop.yaml, with the migration from version 1."""


def migrate(snapshot, from_version, to_version):
    public = snapshot["context"]["public"]
    public["sum"] = public.pop("total")
    # shops from before version 2 sold in euros; new ones default to the chart's USD
    public.setdefault("currency", "EUR")
    return snapshot


def scan(ctx, event):
    ctx.public["items"].append(event.data["item"])
    ctx.public["sum"] += event.data["price"]
    ctx.mine["cart"].append(event.data["item"])
    ctx.context["visits"] += 1


def migrated(ctx, event):
    ctx.public["migrated"] = [event.data["fromVersion"], event.data["toVersion"]]
    ctx.context["audit"].append(f"migrated at step {ctx.seq}")
