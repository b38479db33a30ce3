"""The checkout example (charts/checkout.yaml, hooks/checkout.py, schemas/checkout.yaml): a
chart written the XState way under ``semantics: scxml``. Guarded fallbacks chosen by document
order, a parallel state's done event moving the order on, and a hand-off from one region to
another, run through an Actor, served for real over HTTP, property-tested and replayed."""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import httpx
import pytest
from servers import Server, servers
from support import ROOT, FakeClock, run_actorkit

from actorkit import Actor, Caller, EventRejected, inspect_chart, load_chart
from actorkit.actor import StepResult

CHART = ROOT / "charts" / "checkout.yaml"
T0 = 1_765_000_000.0                # 2025-12-06: a card valid through 11/25 has expired

ANN = Caller.client("ann")
BEN = Caller.client("ben")
SHOP = Caller.service("shop")

GOOD_CARD = {"card": "4242424242424242", "expires": "12/99"}   # valid through 2099
OLD_CARD = {"card": "4000056655665556", "expires": "11/25"}
HOME = {"street": "Damrak 1, Amsterdam", "country": "NL"}
ABROAD = {"street": "1 Rue de Rivoli, Paris", "country": "FR"}


@pytest.fixture(scope="module")
def chart():
    return load_chart(CHART)


def checkout(chart: Any, **items: int) -> Actor:
    """An order in Details, its cart holding ``items``."""
    actor = Actor.spawn(chart, "order-1", caller=ANN, input={}, clock=FakeClock(T0))
    for sku, quantity in items.items():
        actor.send({"type": "SET_ITEM", "sku": sku, "quantity": quantity}, ANN)
    assert actor.send({"type": "CHECKOUT"}, ANN).handled
    return actor


def pay(actor: Actor, card: dict[str, str], who: Caller = ANN) -> StepResult:
    return actor.send({"type": "PAY", **card}, who)


def address(actor: Actor, where: dict[str, str]) -> StepResult:
    return actor.send({"type": "SET_ADDRESS", "address": where}, ANN)


def public(actor: Actor) -> dict[str, Any]:
    return actor.view(SHOP)["public"]


# -- the chart ------------------------------------------------------------------------------------

def test_chart_lints_clean_under_scxml() -> None:
    found = inspect_chart(CHART)
    assert [d.format() for d in found.diagnostics] == []
    assert found.chart is not None and found.chart.actor_type == "checkout"


def test_under_sismic_lint_names_each_xstate_idiom_the_chart_uses(tmp_path):
    for folder in ("charts", "hooks", "schemas"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    chart = tmp_path / "charts" / "checkout.yaml"
    chart.write_text(chart.read_text().replace("semantics: scxml", "semantics: sismic"))
    run = run_actorkit("lint", "charts/checkout.yaml", cwd=tmp_path)
    assert run.returncode == 1
    lines = run.stdout.splitlines()

    def said(code: str, text: str) -> bool:
        return any(f" {code} " in line and text in line for line in lines)

    assert said("AK208", "on event 'PAY'") and said("AK208", "on event 'SET_ADDRESS'")
    assert said("AK212", "from 'Address' to 'Unpaid'")                      # the hand-off
    assert said("AK301", "'done.state.Details'") and said("AK301", "'error'")


# -- guarded transitions: the first whose guard holds, the last one the fallback ------------------

def test_an_empty_cart_cannot_check_out(chart):
    actor = Actor.spawn(chart, "order-1", caller=ANN, input={}, clock=FakeClock(T0))
    assert actor.send({"type": "CHECKOUT"}, ANN).handled is False
    assert actor.value == "Cart"


def test_pay_takes_the_first_transition_whose_guard_holds(chart):
    small = checkout(chart, mug=2)                        # 2400 + 500 shipping
    declined = pay(small, OLD_CARD)
    assert declined.outputs == ({"type": "PAYMENT_DECLINED", "reason": "card_expired"},)
    assert small.value["Details"]["Payment"] == "Unpaid" and public(small)["paid"] == 0

    large = checkout(chart, lamp=1, mug=1)                # 10100 + 500: above the review limit
    # an expired card on a large order is declined: its guard comes first
    assert pay(large, OLD_CARD).outputs[0]["reason"] == "card_expired"
    assert large.value["Details"]["Payment"] == "Unpaid"
    pay(large, GOOD_CARD)
    assert large.value["Details"]["Payment"] == "Review" and public(large)["paid"] == 10_600

    taken = pay(small, GOOD_CARD)                         # the unguarded fallback
    assert taken.outputs == ()
    assert small.value == {"Details": {"Payment": "Paid", "Shipping": "Address"}}
    assert public(small)["paid"] == 2_900


def test_the_fraud_check_approves_or_rejects_a_held_payment(chart):
    approved = checkout(chart, lamp=2)
    pay(approved, GOOD_CARD)
    approved.send({"type": "APPROVE"}, SHOP)
    assert approved.value["Details"]["Payment"] == "Paid"
    assert public(approved)["paid"] == 18_300

    rejected = checkout(chart, lamp=2)
    pay(rejected, GOOD_CARD)
    result = rejected.send({"type": "REJECT"}, SHOP)
    assert result.outputs == ({"type": "PAYMENT_DECLINED", "reason": "rejected"},)
    assert rejected.value["Details"]["Payment"] == "Unpaid" and public(rejected)["paid"] == 0
    with pytest.raises(EventRejected):                    # the fraud check is the shop's
        approved.send({"type": "APPROVE"}, ANN)


def test_the_card_is_seen_only_by_who_paid_with_it(chart):
    actor = checkout(chart, tee=1)
    pay(actor, GOOD_CARD, BEN)
    assert actor.view(BEN)["private"] == {"cardEnding": "4242"}
    for other in (ANN, SHOP):
        assert actor.view(other)["private"] == {"cardEnding": None}
        assert "4242" not in json.dumps(actor.view(other))


# -- done events: the order moves on when both regions are final ----------------------------------

@pytest.mark.parametrize("address_first", [True, False])
def test_details_done_places_the_order_in_the_step_that_finishes_it(chart, address_first):
    actor = checkout(chart, tee=2)
    first = address(actor, HOME) if address_first else pay(actor, GOOD_CARD)
    assert first.outputs == () and "Details" in actor.value   # one region is not done yet
    last = pay(actor, GOOD_CARD) if address_first else address(actor, HOME)
    assert last.outputs == ({"type": "ORDER_PLACED", "total": 5_500},)
    assert actor.value == "Placed"
    shipped = actor.send({"type": "SHIPPED", "tracking": "3SABC123"}, SHOP)
    assert shipped.outputs == ({"type": "ORDER_SHIPPED", "tracking": "3SABC123"},)
    assert actor.value == "Shipped" and actor.done


def test_a_caller_cannot_send_the_done_event(chart):
    actor = checkout(chart, tee=1)
    with pytest.raises(EventRejected):
        actor.send({"type": "done.state.Details"}, SHOP)
    assert "Details" in actor.value


# -- the hand-off: a new total sends the Payment region back to Unpaid ----------------------------

def test_an_address_that_changes_the_total_after_paying_refunds_and_asks_to_pay_again(chart):
    actor = checkout(chart, mug=1)
    pay(actor, GOOD_CARD)
    assert public(actor)["total"] == 1_700
    handed = address(actor, ABROAD)
    assert handed.outputs == ({"type": "PAYMENT_REFUNDED", "amount": 1_700},)
    # Details was left and entered again: Payment at Unpaid, the transition's target, and
    # Shipping past Address by its eventless transition, since the address is now known
    assert actor.value == {"Details": {"Payment": "Unpaid", "Shipping": "Addressed"}}
    assert (public(actor)["shipping"], public(actor)["total"], public(actor)["paid"]) == (
        2_500, 3_700, 0)
    again = pay(actor, GOOD_CARD)
    assert again.outputs == ({"type": "ORDER_PLACED", "total": 3_700},)
    assert actor.value == "Placed" and public(actor)["paid"] == 3_700


def test_an_address_that_keeps_the_total_is_no_hand_off(chart):
    actor = checkout(chart, mug=1)
    pay(actor, GOOD_CARD)
    result = address(actor, HOME)
    assert result.outputs == ({"type": "ORDER_PLACED", "total": 1_700},)
    assert actor.value == "Placed"


def test_a_held_payment_is_released_by_the_hand_off_too(chart):
    actor = checkout(chart, lamp=2)
    pay(actor, GOOD_CARD)
    assert address(actor, ABROAD).outputs == ({"type": "PAYMENT_REFUNDED", "amount": 18_300},)
    assert actor.value["Details"] == {"Payment": "Unpaid", "Shipping": "Addressed"}


# -- event descriptors: `error` takes error.payment and error.shipping ----------------------------

@pytest.mark.parametrize(("error", "refunded"), [("error.payment", ()),
                                                 ("error.shipping", (1_700,))])
def test_error_catches_every_error_event_of_the_services(chart, error, refunded):
    actor = checkout(chart, mug=1)
    pay(actor, GOOD_CARD)
    address(actor, HOME)
    result = actor.send({"type": error, "message": "it went wrong"}, SHOP)
    assert [o["amount"] for o in result.outputs if o["type"] == "PAYMENT_REFUNDED"] == \
        list(refunded)
    assert result.outputs[-1] == {"type": "ORDER_FAILED", "error": error,
                                  "message": "it went wrong"}
    assert actor.value == "Failed" and actor.done and public(actor)["paid"] == 0


# -- snapshots ------------------------------------------------------------------------------------

def test_restore_mid_details_continues_identically(chart):
    actor = checkout(chart, lamp=1, tee=1)
    pay(actor, GOOD_CARD)
    saved = actor.snapshot_json()
    restored = Actor.restore(load_chart(CHART), json.loads(saved), clock=FakeClock(T0))
    for one in (actor, restored):
        address(one, ABROAD)
        one.send({"type": "SET_ITEM", "sku": "mug", "quantity": 1}, ANN)  # not in Details
        pay(one, GOOD_CARD)
        one.send({"type": "APPROVE"}, SHOP)
    assert restored.snapshot_json() == actor.snapshot_json()
    assert actor.value == "Placed"


# -- served, property-tested and replayed ---------------------------------------------------------

def call(node: Server, method: str, caller: str, event: dict[str, Any] | None = None,
         ) -> httpx.Response:
    bearer = node.token("checkout", "order-7", caller)
    return httpx.request(method, f"{node.url}/api/checkout/order-7", json=event,
                         headers={"Authorization": f"Bearer {bearer}"}, timeout=30)


def test_a_served_checkout_hands_off_and_places_the_order_and_replays_the_same():
    with servers(ROOT, cli=[]) as launcher:
        node = launcher.start()
        steps: list[tuple[str, dict[str, Any]]] = [
            ("client:ann", {"type": "SET_ITEM", "sku": "tee", "quantity": 1}),
            ("client:ann", {"type": "CHECKOUT"}),
            ("client:ann", {"type": "PAY", **GOOD_CARD}),
            ("client:ann", {"type": "SET_ADDRESS", "address": ABROAD}),
        ]
        for caller, event in steps:
            answer = call(node, "POST", caller, event)
            assert answer.status_code == 200 and answer.json()["handled"], answer.text
        view = call(node, "GET", "client:ann").json()["snapshot"]
        assert view["value"] == {"Details": {"Payment": "Unpaid", "Shipping": "Addressed"}}
        assert view["public"]["total"] == 5_000 and view["private"] == {"cardEnding": "4242"}

        wrong = call(node, "POST", "client:ann", {"type": "PAY", "card": "4242"})
        assert wrong.status_code == 400 and "expires" in wrong.text
        forged = call(node, "POST", "client:ann", {"type": "error.payment", "message": "x"})
        assert forged.status_code == 400                  # services report errors, not clients
        assert call(node, "POST", "client:ann", {"type": "PAY", **GOOD_CARD}).json()["handled"]
        failed = call(node, "POST", "service:shop",
                      {"type": "error.shipping", "message": "no carrier goes there"})
        assert failed.status_code == 200, failed.text
        assert call(node, "GET", "client:ann").json()["snapshot"]["value"] == "Failed"

        replay = run_actorkit("replay", "--project", ROOT, "--store", launcher.db, "checkout",
                              "order-7", timeout=60)
        assert replay.returncode == 0 and ": the same" in replay.stdout, \
            replay.stdout + replay.stderr


def test_actorkit_test_reaches_every_state_and_transition():
    run = run_actorkit("test", "charts/checkout.yaml", "--seed", "1", timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"checkout.yaml: every property held in 1\d\d runs", run.stdout)
    assert "coverage: states 13/13, transitions 13/13" in run.stdout, run.stdout


def test_the_graph_draws_the_hand_off_and_the_done_event() -> None:
    run = run_actorkit("graph", "charts/checkout.yaml")
    assert run.returncode == 0, run.stderr
    assert "Address --> Unpaid : SET_ADDRESS [changes_what_was_paid] / refund, set_address" \
        in run.stdout
    assert "Details --> Placed : done.state.Details" in run.stdout
