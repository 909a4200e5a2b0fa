"""Refunds (admins): an amount or lines, with a reason, through the provider; the order moves to
partially_refunded or refunded; never more than was captured, a line's units at most once."""
from decimal import Decimal

import pytest


def refund(app, order_id, status=201, headers=None, **body):
    return app.post_json(f"/api/orders/{order_id}/refunds/", {"reason": "Damaged in transit", **body},
                         headers=headers, status=status)


def test_an_amount_refund_moves_the_order_and_emits_what_a_subscriber_needs(admin_app, customer_app, paid_order,
                                                                           payments_of, payment_events):
    order = paid_order(lines={"Lamp": ("12.50", 2), "Chair": ("40.00", 1)})
    first = refund(admin_app, order["id"], amount="15.00").json
    assert {k: first[k] for k in ("order", "amount", "reason", "status", "return", "lines")} == {
        "order": order["id"], "amount": "15.00", "reason": "Damaged in transit", "status": "succeeded",
        "return": None, "lines": []}
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "partially_refunded"
    [event] = [e for e in payment_events if type(e).__name__ == "OrderRefunded"]
    assert (event.order_id, event.user_id, event.amount, event.refunded_total, event.captured_total, event.status,
            event.reason, event.refund_lines, event.return_id, event.provider, event.currency) == (
        order["id"], customer_app.user_id, Decimal("15.00"), Decimal("15.00"), Decimal("65.00"),
        "partially_refunded", "Damaged in transit", (), None, "simulated", "USD")
    assert [(line.quantity, line.unit_price) for line in event.lines] == [(2, Decimal("12.50")), (1, Decimal("40.00"))]
    refund(admin_app, order["id"], amount="50.00")
    shown = customer_app.get(f"/api/orders/{order['id']}/").json
    assert shown["status"] == "refunded"
    assert [(r["amount"], r["reason"]) for r in shown["refunds"]] == [("15.00", "Damaged in transit"),
                                                                      ("50.00", "Damaged in transit")]
    assert payments_of(order["id"])[0][1:5] == ("refunded", Decimal("65.00"), Decimal("65.00"), Decimal("65.00"))
    answer = refund(admin_app, order["id"], amount="0.01", status=409).json
    assert answer["detail"] == f"Order {order['id']} is refunded; only a paid order can be refunded."


def test_more_than_what_is_left_is_a_409_naming_what_is_left(admin_app, paid_order, payments_of):
    order = paid_order()
    refund(admin_app, order["id"], amount="20.00")
    answer = refund(admin_app, order["id"], amount="5.01", status=409).json
    assert answer["detail"] == f"At most 5.00 of order {order['id']} may still be refunded; 5.01 was asked."
    assert payments_of(order["id"])[0][4] == Decimal("20.00")


def test_lines_are_refunded_at_their_price_less_their_share_of_discounts_and_at_most_once(
        admin_app, customer_app, paid_order, make_request):
    order = paid_order(lines={"Lamp": ("12.50", 2), "Chair": ("40.00", 1)})
    lamp, chair = order["items"]
    made = refund(admin_app, order["id"], lines=[{"item": lamp["id"], "quantity": 1}, {"item": chair["id"],
                                                                                       "quantity": 1}]).json
    assert made["amount"] == "52.50"
    assert [(line["item"], line["quantity"], line["amount"]) for line in made["lines"]] == [
        (lamp["id"], 1, "12.50"), (chair["id"], 1, "40.00")]
    answer = refund(admin_app, order["id"], lines=[{"item": chair["id"], "quantity": 1}], status=409).json
    assert answer["errors"] == [{"field": "lines[0].quantity", "message": f"Line {chair['id']} ('Chair') has 0 of its "
                                                                          f"1 units left to give back; 1 asked."}]
    refund(admin_app, order["id"], lines=[{"item": lamp["id"], "quantity": 1}])
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "refunded"


def test_a_discounted_order_refunds_lines_at_what_was_paid(admin_app, paid_order, register_extension):
    from shopcore_cart.api import PRICE_ADJUSTMENTS, Adjustment

    register_extension(PRICE_ADJUSTMENTS, lambda request, cart: [Adjustment("10% off", -cart.subtotal / 10)])
    order = paid_order(lines={"Lamp": ("12.50", 2)})
    assert order["total_price"] == "22.50"
    made = refund(admin_app, order["id"], lines=[{"item": order["items"][0]["id"], "quantity": 1}]).json
    assert made["amount"] == "11.25"


@pytest.mark.parametrize("body, field, message", [
    ({}, "amount", "Give either an amount or lines to refund, not both."),
    ({"amount": "1.00", "lines": [{"item": 1, "quantity": 1}]}, "amount",
     "Give either an amount or lines to refund, not both."),
    ({"lines": [{"item": 999999, "quantity": 1}]}, "lines[0].item", None),
    ({"amount": "0.00"}, "amount", None),
])
def test_wrong_refunds_are_a_400_naming_the_field(admin_app, paid_order, body, field, message):
    order = paid_order()
    answer = refund(admin_app, order["id"], status=400, **body).json
    assert [error["field"] for error in answer["errors"]] == [field]
    if message:
        assert answer["errors"][0]["message"] == message


def test_only_admins_refund_and_only_paid_orders(customer_app, admin_app, place_order, paid_order):
    paid = paid_order()
    refund(customer_app, paid["id"], amount="1.00", status=403)
    pending = place_order()
    assert refund(admin_app, pending["id"], amount="1.00", status=409).json["detail"] == (
        f"Order {pending['id']} is pending; only a paid order can be refunded.")
    refund(admin_app, 999999, amount="1.00", status=404)


def test_a_refund_with_an_idempotency_key_is_made_once(admin_app, paid_order, payments_of):
    order = paid_order()
    key = {"Idempotency-Key": "refund-1"}
    first = refund(admin_app, order["id"], amount="5.00", headers=key)
    again = refund(admin_app, order["id"], amount="5.00", headers=key)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert payments_of(order["id"])[0][4] == Decimal("5.00")


def test_a_shipped_partially_refunded_order_is_still_delivered_and_not_shipped_twice(admin_app, paid_order):
    order = paid_order()
    refund(admin_app, order["id"], amount="5.00")
    admin_app.patch_json(f"/api/orders/{order['id']}/status/", {"status": "shipped"}, status=200)
    refund(admin_app, order["id"], amount="5.00")
    admin_app.patch_json(f"/api/orders/{order['id']}/status/", {"status": "shipped"}, status=409)
    delivered = admin_app.patch_json(f"/api/orders/{order['id']}/status/", {"status": "delivered"}, status=200).json
    assert delivered["status"] == "delivered" and delivered["shipped_at"] and delivered["delivered_at"]
