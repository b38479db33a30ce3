"""Hooks of the auction chart (charts/auction.yaml).

Rules of the room:

- A bid must reach ``minimumBid``: the starting price for the first bid, then the current price
  plus the increment. The seller cannot bid, and the leader does not bid against themselves
  (to go higher they set a maximum with SET_MAX_BID).
- Proxy bidding: a bidder's maximum is kept in their private bucket, seen only by them. Their
  proxy bids for them, one increment over the competition, never above the maximum. When two
  maximums meet, the higher one wins at (the lower one + increment), capped at the higher
  one; equal maximums go to the leader, who got there first.
- Anti-sniping: a bid in the last ``antiSnipeSeconds`` of bidding pushes the end to
  ``antiSnipeSeconds`` after that bid.
- When bidding ends the lot is called "going once", then "going twice", ``goingSeconds``
  apart, then the hammer falls: SOLD if the reserve is met, else UNSOLD. A new bid during the
  calls starts them again from "going once".
- PAUSE freezes the clock (the time left to bid is kept); RESUME_AUCTION returns to exactly the
  phase the lot was in, and a call that was interrupted starts its ``goingSeconds`` afresh.

Money is in integer minor units (cents), so prices add up exactly.
"""

GOING_SECONDS = 10
ANTI_SNIPE_SECONDS = 30
MAX_HISTORY = 20


# -- helpers -----------------------------------------------------------------------------------

def _going_seconds(ctx):
    return ctx.input.get("goingSeconds", GOING_SECONDS)


def _snipe_window(ctx):
    return ctx.input.get("antiSnipeSeconds", ANTI_SNIPE_SECONDS)


def _minimum(ctx):
    pub = ctx.public
    if pub["leaderId"] is None:
        return pub["startingPrice"]
    return pub["currentPrice"] + pub["increment"]


def _is_seller(ctx, caller_id):
    return caller_id == ctx.input["sellerId"]


def _refresh(ctx):
    """Derived public fields, recomputed after every change of price or leader."""
    pub = ctx.public
    pub["minimumBid"] = _minimum(ctx)
    pub["reserveMet"] = (pub["leaderId"] is not None
                         and pub["currentPrice"] >= ctx.input["reservePrice"])


def _bid(ctx, bidder_id, amount, auto, led):
    """Record one bid: ``bidder_id`` leads at ``amount``. ``led`` collects everyone who led
    during this step, so only those who end up beaten get OUTBID."""
    pub = ctx.public
    bid = {"bidderId": bidder_id, "amount": amount, "at": ctx.now, "auto": auto}
    pub["bids"].append(bid)
    del pub["bids"][:-MAX_HISTORY]
    pub["bidCount"] += 1
    pub["currentPrice"] = amount
    pub["leaderId"] = bidder_id
    led.append(bidder_id)
    _refresh(ctx)
    ctx.emit("BID_PLACED", bid=bid, minimumBid=pub["minimumBid"])


def _cap(ctx, bidder_id):
    """How high ``bidder_id`` goes: their maximum, or their standing bid if it is higher."""
    top = ctx.private.view(bidder_id)["maxBid"]
    price = ctx.public["currentPrice"] if ctx.public["leaderId"] == bidder_id else 0
    return max(price or 0, top or 0)


def _settle(ctx, led):
    """Let the proxies bid until no maximum can beat the leader any more.

    Once settled, no one but the leader has a maximum at or above ``minimumBid``; so after a
    bid there is at most one rival: the bidder who just set a maximum, or the leader the bid
    displaced. (The loop still picks the highest, the earliest on a tie, to stay obvious.)
    """
    pub = ctx.public
    proxies = ctx.context["proxies"]
    while True:
        leader = pub["leaderId"]
        need = _minimum(ctx)
        rivals = []
        for rank, bidder_id in enumerate(proxies):
            # view(): read a bucket without marking it changed (only changed ones are
            # re-validated after the step).
            top = ctx.private.view(bidder_id)["maxBid"]
            if bidder_id != leader and top is not None and top >= need:
                rivals.append((top, -rank, bidder_id))
        if not rivals:
            return
        top, _, rival = max(rivals)
        if leader is None:
            _bid(ctx, rival, need, True, led)
            continue
        cap = _cap(ctx, leader)
        if cap >= top:
            # The leader's maximum holds: the rival's proxy goes all in, the leader's answers.
            _bid(ctx, rival, top, True, led)
            _bid(ctx, leader, min(cap, top + pub["increment"]), True, led)
        else:
            _bid(ctx, rival, min(top, max(need, cap + pub["increment"])), True, led)


def _announce(ctx, before, led):
    """After bids: tell whoever lost the lead, and make the lot react to the new price."""
    pub = ctx.public
    leader = pub["leaderId"]
    for bidder_id in dict.fromkeys(([before] if before else []) + led):
        if bidder_id != leader:
            ctx.emit("OUTBID", bidderId=bidder_id, leaderId=leader, price=pub["currentPrice"])
    if led:
        ctx.send("PRICE_CHANGED")


def _bid_problem(ctx, amount):
    """Why a PLACE_BID of ``amount`` by the caller cannot take the lead, or ``None``."""
    if _is_seller(ctx, ctx.caller.id):
        return "seller_cannot_bid"
    if ctx.public["leaderId"] == ctx.caller.id:
        return "already_leading"
    if amount < _minimum(ctx):
        return "too_low"
    return None


def _max_bid_problem(ctx, amount):
    if _is_seller(ctx, ctx.caller.id):
        return "seller_cannot_bid"
    pub = ctx.public
    floor = pub["currentPrice"] if pub["leaderId"] == ctx.caller.id else _minimum(ctx)
    if amount < floor:
        return "too_low"
    return None


def _reject(ctx, reason):
    ctx.emit("BID_REJECTED", bidderId=ctx.caller.id, reason=reason,
             minimumBid=ctx.public["minimumBid"])


def _status(ctx, status):
    ctx.public["status"] = status


# -- the room ----------------------------------------------------------------------------------

def setup(ctx, event):
    given = ctx.input
    pub = ctx.public
    pub["title"] = given["title"]
    pub["sellerId"] = given["sellerId"]
    pub["startingPrice"] = given["startingPrice"]
    pub["increment"] = given["increment"]
    _refresh(ctx)


def open_auction(ctx, event):
    ends_at = ctx.now + ctx.input["durationSeconds"]
    ctx.public["endsAt"] = ends_at
    ctx.context["endTimer"] = ctx.schedule("BIDDING_ENDS", delay=ctx.input["durationSeconds"])
    ctx.emit("AUCTION_OPENED", endsAt=ends_at)


def bidding_ended(ctx, event):
    ctx.context["endTimer"] = None


def by_seller_or_service(ctx, event):
    return ctx.caller.type == "service" or _is_seller(ctx, ctx.caller.id)


def may_cancel(ctx, event):
    """The platform may always cancel; the seller only while no one has bid."""
    if ctx.caller.type == "service":
        return True
    return _is_seller(ctx, ctx.caller.id) and ctx.public["bidCount"] == 0


# -- bids --------------------------------------------------------------------------------------

def bid_is_valid(ctx, event):
    return _bid_problem(ctx, event.data["amount"]) is None


def place_bid(ctx, event):
    before, led = ctx.public["leaderId"], []
    _bid(ctx, ctx.caller.id, event.data["amount"], False, led)
    _settle(ctx, led)
    _announce(ctx, before, led)


def reject_bid(ctx, event):
    if not ctx.active("Live"):
        _reject(ctx, "not_open")
    else:
        _reject(ctx, _bid_problem(ctx, event.data["amount"]))


def max_bid_is_valid(ctx, event):
    return _max_bid_problem(ctx, event.data["amount"]) is None


def set_max_bid(ctx, event):
    ctx.mine["maxBid"] = event.data["amount"]
    if ctx.caller.id not in ctx.context["proxies"]:
        ctx.context["proxies"].append(ctx.caller.id)
    before, led = ctx.public["leaderId"], []
    _settle(ctx, led)
    _announce(ctx, before, led)


def reject_max_bid(ctx, event):
    if not ctx.active("Live"):
        _reject(ctx, "not_open")
    else:
        _reject(ctx, _max_bid_problem(ctx, event.data["amount"]))


def extend_if_sniped(ctx, event):
    """A price change in the last seconds of bidding pushes the end out (anti-sniping)."""
    window = _snipe_window(ctx)
    pub = ctx.public
    if window <= 0 or pub["endsAt"] - ctx.now >= window:
        return
    ctx.cancel(ctx.context["endTimer"])
    ctx.context["endTimer"] = ctx.schedule("BIDDING_ENDS", delay=window)
    pub["endsAt"] = ctx.now + window
    ctx.emit("AUCTION_EXTENDED", endsAt=pub["endsAt"])


# -- the calls and the hammer ------------------------------------------------------------------

def call_elapsed(ctx, event):
    return ctx.after(_going_seconds(ctx))


def _call(ctx, call, status):
    pub = ctx.public
    _status(ctx, status)
    pub["callEndsAt"] = ctx.now + _going_seconds(ctx)
    ctx.emit("LOT_CALLED", call=call, price=pub["currentPrice"], leaderId=pub["leaderId"],
             callEndsAt=pub["callEndsAt"])


def enter_bidding(ctx, event):
    _status(ctx, "bidding")
    ctx.public["callEndsAt"] = None


def enter_going_once(ctx, event):
    _call(ctx, "once", "going_once")


def enter_going_twice(ctx, event):
    _call(ctx, "twice", "going_twice")


def reserve_met(ctx, event):
    return ctx.public["reserveMet"]


def _close(ctx, outcome, winner):
    pub = ctx.public
    _status(ctx, outcome)
    pub["callEndsAt"] = None
    ctx.emit("AUCTION_CLOSED", outcome=outcome, winnerId=winner, price=pub["currentPrice"])


def close_sold(ctx, event):
    _close(ctx, "sold", ctx.public["leaderId"])


def close_unsold(ctx, event):
    _close(ctx, "unsold", None)


def close_cancelled(ctx, event):
    if ctx.context["endTimer"] is not None:
        ctx.cancel(ctx.context["endTimer"])
        ctx.context["endTimer"] = None
    ctx.public["endsAt"] = None
    _close(ctx, "cancelled", None)


# -- pause and resume --------------------------------------------------------------------------

def pause_clock(ctx, event):
    """Stop the bidding clock, keeping the time left (only Bidding has one running)."""
    timer = ctx.context["endTimer"]
    if timer is not None:
        ctx.cancel(timer)
        ctx.context["endTimer"] = None
        ctx.context["remaining"] = ctx.public["endsAt"] - ctx.now
        ctx.public["endsAt"] = None


def enter_paused(ctx, event):
    _status(ctx, "paused")
    ctx.public["callEndsAt"] = None
    ctx.emit("AUCTION_PAUSED")


def resume_clock(ctx, event):
    remaining = ctx.context["remaining"]
    if remaining is not None:
        ctx.context["endTimer"] = ctx.schedule("BIDDING_ENDS", delay=remaining)
        ctx.context["remaining"] = None
        ctx.public["endsAt"] = ctx.now + remaining
    # LiveHistory re-enters the phase next; LOT_RESUMED is handled once it has.
    ctx.send("LOT_RESUMED")


def announce_resume(ctx, event):
    ctx.emit("AUCTION_RESUMED", status=ctx.public["status"])


# -- presence ----------------------------------------------------------------------------------

def is_client_connection(ctx, event):
    return event.data["connectingCaller"]["type"] == "client"


def add_watcher(ctx, event):
    who = event.data["connectingCaller"]
    if who["type"] != "client":
        return
    connections = ctx.context["connections"]
    connections[who["id"]] = connections.get(who["id"], 0) + 1
    ctx.public["watchers"] = len(connections)


def last_watcher_leaving(ctx, event):
    who = event.data["disconnectingCaller"]
    connections = ctx.context["connections"]
    return (who["type"] == "client" and list(connections) == [who["id"]]
            and connections[who["id"]] == 1)


def remove_watcher(ctx, event):
    who = event.data["disconnectingCaller"]
    connections = ctx.context["connections"]
    if who["type"] != "client" or who["id"] not in connections:
        return
    connections[who["id"]] -= 1
    if connections[who["id"]] <= 0:
        del connections[who["id"]]
    ctx.public["watchers"] = len(connections)
