"""Returns: a customer asks for lines of a delivered order within the window; an admin approves (refund
through the provider, optionally back in stock) or rejects; customers see their returns in their order."""
import datetime

import pytest


def ask(app, order, lines, status=201, reason="Too small"):
    return app.post_json(f"/api/orders/{order['id']}/returns/", {"lines": lines, "reason": reason}, status=status)


def test_a_return_is_approved_refunded_and_restocked(customer_app, admin_app, delivered_order, make_request,
                                                     payment_events):
    from shopcore_catalog.api import CatalogService

    order = delivered_order(lines={"Lamp": ("12.50", 2), "Chair": ("40.00", 1)})
    lamp, chair = order["items"]
    asked = ask(customer_app, order, [{"item": lamp["id"], "quantity": 1}]).json
    assert {k: asked[k] for k in ("order", "user", "status", "reason", "note", "restocked", "amount", "refund",
                                  "decided_at")} == {
        "order": order["id"], "user": customer_app.user_id, "status": "requested", "reason": "Too small", "note": "",
        "restocked": False, "amount": "12.50", "refund": None, "decided_at": None}
    assert asked["lines"] == [{"item": lamp["id"], "product": lamp["product"], "product_name": "Lamp", "quantity": 1,
                               "amount": "12.50"}]
    assert [r["id"] for r in customer_app.get(f"/api/orders/{order['id']}/").json["returns"]] == [asked["id"]]
    with make_request() as request:
        stock_before = request.find_service(CatalogService).get_product(lamp["product"]).stock

    approved = admin_app.post_json(f"/api/returns/{asked['id']}/approve/", {"restock": True}, status=200).json
    assert (approved["status"], approved["restocked"], approved["refund"] is not None) == ("approved", True, True)
    shown = customer_app.get(f"/api/orders/{order['id']}/").json
    assert shown["status"] == "partially_refunded"
    assert [(r["amount"], r["return"]) for r in shown["refunds"]] == [("12.50", asked["id"])]
    assert shown["returns"][0]["status"] == "approved"
    with make_request() as request:
        assert request.find_service(CatalogService).get_product(lamp["product"]).stock == stock_before + 1
    names = [type(e).__name__ for e in payment_events]
    assert names.count("ReturnRequested") == names.count("ReturnApproved") == names.count("OrderRefunded") == 1
    admin_app.post_json(f"/api/returns/{asked['id']}/approve/", {}, status=409)
    admin_app.post_json(f"/api/returns/{asked['id']}/reject/", {"note": "late"}, status=409)


def test_a_rejected_return_frees_its_units_and_says_why(customer_app, admin_app, delivered_order):
    order = delivered_order()
    line = order["items"][0]
    first = ask(customer_app, order, [{"item": line["id"], "quantity": 2}]).json
    answer = ask(customer_app, order, [{"item": line["id"], "quantity": 1}], status=409).json
    assert answer["detail"] == (f"Line {line['id']} ('Desk lamp') has 0 of its 2 units left to give back; 1 asked.")
    rejected = admin_app.post_json(f"/api/returns/{first['id']}/reject/", {"note": "Worn"}, status=200).json
    assert (rejected["status"], rejected["note"]) == ("rejected", "Worn")
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "delivered"
    ask(customer_app, order, [{"item": line["id"], "quantity": 1}])


def test_only_delivered_orders_of_ones_own_within_the_window(customer_app, other_customer_app, paid_order,
                                                            delivered_order, monkeypatch):
    paid = paid_order()
    answer = ask(customer_app, paid, [{"item": paid["items"][0]["id"], "quantity": 1}], status=409).json
    assert answer["detail"] == f"Order {paid['id']} is paid; only a delivered order can be returned."
    order = delivered_order()
    line = [{"item": order["items"][0]["id"], "quantity": 1}]
    ask(other_customer_app, order, line, status=404)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=31)
    monkeypatch.setattr("shopcore_payments.refunds.utcnow", lambda: later)
    answer = ask(customer_app, order, line, status=409).json
    assert answer["errors"] == [{"field": "order", "message": "The return window has closed."}]
    assert "30 days after delivery" in answer["detail"]


@pytest.mark.parametrize("lines, field", [([{"item": 999999, "quantity": 1}], "lines[0].item"),
                                          ([{"item": "LINE", "quantity": 1}], None)])
def test_lines_not_of_the_order_are_a_400(customer_app, delivered_order, lines, field):
    order = delivered_order()
    answer = ask(customer_app, order, lines, status=400).json
    if field:
        assert [error["field"] for error in answer["errors"]] == [field]


def test_returns_are_listed_for_their_customer_and_every_return_for_admins(customer_app, other_customer_app,
                                                                          admin_app, delivered_order):
    order = delivered_order()
    mine = ask(customer_app, order, [{"item": order["items"][0]["id"], "quantity": 1}]).json
    assert [r["id"] for r in customer_app.get("/api/returns/").json["results"]] == [mine["id"]]
    assert other_customer_app.get("/api/returns/").json["results"] == []
    other_customer_app.get(f"/api/returns/{mine['id']}/", status=404)
    assert customer_app.get(f"/api/returns/{mine['id']}/").json == mine
    assert [r["id"] for r in admin_app.get("/api/returns/?status=requested").json["results"]] == [mine["id"]]
    assert admin_app.get("/api/returns/?status=approved").json["count"] == 0
    customer_app.post_json(f"/api/returns/{mine['id']}/approve/", {}, status=403)


def test_a_restocked_return_goes_back_to_the_variant_bought(customer_app, admin_app, testapp):
    shirt = admin_app.post_json("/api/products/", {"name": "Shirt", "option_names": ["size"], "variants": [
        {"sku": "SH-S", "options": {"size": "S"}, "price": "20.00", "stock": 5},
        {"sku": "SH-M", "options": {"size": "M"}, "price": "20.00", "stock": 5}]}, status=201).json
    small, medium = (variant["id"] for variant in shirt["variants"])
    customer_app.post_json("/api/cart/items/", {"variant": medium, "quantity": 2}, status=201)
    order = customer_app.post_json("/api/orders/checkout/", {"shipping_address": "1 Main St",
                                                             "payment_method": "card"}, status=201).json
    customer_app.post(f"/api/orders/{order['id']}/pay/", status=200)
    for status in ("shipped", "delivered"):
        admin_app.patch_json(f"/api/orders/{order['id']}/status/", {"status": status}, status=200)
    asked = ask(customer_app, order, [{"item": order["items"][0]["id"], "quantity": 1}]).json

    admin_app.post_json(f"/api/returns/{asked['id']}/approve/", {"restock": True}, status=200)
    stock = {variant["id"]: variant["stock"] for variant in testapp.get(f"/api/products/{shirt['id']}/").json["variants"]}
    assert stock == {small: 5, medium: 4}  # 5 - 2 bought + 1 back, and only to the size bought
