"""Hooks of the checkout chart (charts/checkout.yaml).

Rules of the shop:

- Three items, priced in ``PRICES``; the cart holds 1 to 9 of each.
- Shipping costs ``DOMESTIC`` within ``HOME`` and ``ABROAD`` elsewhere; until there is an
  address the total counts it as domestic.
- PAY pays the total as it is then: an expired card is declined, a total above
  ``REVIEW_ABOVE`` is held until the fraud check approves or rejects it, and any other
  payment is taken.
- A payment is for one total: an address that changes the total afterwards refunds it, and
  the order must be paid again.
"""

import time

PRICES = {"mug": 1200, "tee": 2500, "lamp": 8900}
HOME = "NL"
DOMESTIC = 500
ABROAD = 2500
REVIEW_ABOVE = 10_000


def _expired(expires, now):
    """Whether a card valid through ``expires`` (MM/YY) has expired at ``now``."""
    month, year = (int(part) for part in expires.split("/"))
    today = time.gmtime(now)
    return (2000 + year, month) < (today.tm_year, today.tm_mon)


def _shipping_to(address):
    return DOMESTIC if address is None or address["country"] == HOME else ABROAD


def _price(ctx):
    pub = ctx.public
    pub["subtotal"] = sum(PRICES[sku] * n for sku, n in pub["items"].items())
    pub["shipping"] = _shipping_to(pub["address"])
    pub["total"] = pub["subtotal"] + pub["shipping"]


def _refund(ctx):
    if ctx.public["paid"]:
        ctx.emit("PAYMENT_REFUNDED", amount=ctx.public["paid"])
        ctx.public["paid"] = 0


# -- the cart ----------------------------------------------------------------------------------

def set_item(ctx, event):
    items = ctx.public["items"]
    items.pop(event.data["sku"], None)
    if event.data["quantity"]:
        items[event.data["sku"]] = event.data["quantity"]
    _price(ctx)


def has_items(ctx, event):
    return bool(ctx.public["items"])


# -- payment -----------------------------------------------------------------------------------

def card_expired(ctx, event):
    return _expired(event.data["expires"], ctx.now)


def decline(ctx, event):
    ctx.emit("PAYMENT_DECLINED", reason="card_expired")


def needs_review(ctx, event):
    return ctx.public["total"] > REVIEW_ABOVE


def take_payment(ctx, event):
    ctx.public["paid"] = ctx.public["total"]
    ctx.mine["cardEnding"] = event.data["card"][-4:]


def hold_payment(ctx, event):
    # held, not taken: the fraud check's APPROVE takes it, its REJECT releases it
    take_payment(ctx, event)


def reject(ctx, event):
    ctx.public["paid"] = 0    # the hold is released
    ctx.emit("PAYMENT_DECLINED", reason="rejected")


# -- shipping ----------------------------------------------------------------------------------

def has_address(ctx, event):
    return ctx.public["address"] is not None


def changes_what_was_paid(ctx, event):
    pub = ctx.public
    return pub["paid"] > 0 and _shipping_to(event.data["address"]) != pub["shipping"]


def set_address(ctx, event):
    ctx.public["address"] = event.data["address"]
    _price(ctx)


def refund(ctx, event):
    _refund(ctx)


# -- the order ---------------------------------------------------------------------------------

def place_order(ctx, event):
    ctx.emit("ORDER_PLACED", total=ctx.public["total"])


def ship(ctx, event):
    ctx.emit("ORDER_SHIPPED", tracking=event.data["tracking"])


def fail(ctx, event):
    if event.name == "error.payment":
        ctx.public["paid"] = 0    # never captured: nothing to refund
    _refund(ctx)
    ctx.emit("ORDER_FAILED", error=event.name, message=event.data["message"])
