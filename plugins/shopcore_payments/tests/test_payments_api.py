"""The payments API: starting a payment with an offered provider (Idempotency-Key as on checkout), listing an
order's payments, and the customer's confirmation through the seed's pay/."""
from decimal import Decimal

from shopcore.services import protocol_mismatches
from shopcore_payments.api import PaymentProvider, PaymentService
from shopcore_payments.service import DefaultPaymentService
from shopcore_payments.simulated import SimulatedProvider


def test_the_service_and_the_simulated_provider_match_their_interfaces():
    assert protocol_mismatches(PaymentService, DefaultPaymentService) == []
    assert protocol_mismatches(PaymentProvider, SimulatedProvider) == []


def test_a_payment_is_started_with_an_offered_provider_and_listed(customer_app, place_order):
    order = place_order()
    created = customer_app.post_json(f"/api/orders/{order['id']}/payments/", {"provider": "simulated"},
                                     status=201).json
    assert {key: created[key] for key in ("order", "provider", "status", "amount", "currency", "captured_amount",
                                          "refunded_amount", "client_secret", "failure")} == {
        "order": order["id"], "provider": "simulated", "status": "authorized", "amount": "25.00", "currency": "USD",
        "captured_amount": "0.00", "refunded_amount": "0.00", "client_secret": None, "failure": None}
    listed = customer_app.get(f"/api/orders/{order['id']}/payments/", status=200).json
    assert listed == {"count": 1, "next": None, "previous": None, "results": [created]}
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "pending"


def test_an_unknown_or_unoffered_provider_is_a_422_naming_it(customer_app, place_order):
    order = place_order()
    response = customer_app.post_json(f"/api/orders/{order['id']}/payments/", {"provider": "stripe"}, status=422).json
    assert response["errors"] == [{"field": "provider",
                                   "message": "The shop does not take payments with 'stripe' (it takes: simulated)."}]


def test_only_ones_own_pending_order_can_be_paid(customer_app, other_customer_app, place_order, paid_order):
    order = place_order()
    other_customer_app.post_json(f"/api/orders/{order['id']}/payments/", {"provider": "simulated"}, status=404)
    other_customer_app.get(f"/api/orders/{order['id']}/payments/", status=404)
    paid = paid_order()
    answer = customer_app.post_json(f"/api/orders/{paid['id']}/payments/", {"provider": "simulated"}, status=409).json
    assert answer["detail"] == f"Order {paid['id']} is paid; only a pending order can be paid."


def test_an_admin_sees_any_orders_payments(admin_app, paid_order):
    order = paid_order()
    [payment] = admin_app.get(f"/api/orders/{order['id']}/payments/", status=200).json["results"]
    assert (payment["status"], payment["captured_amount"]) == ("captured", "25.00")


def test_payment_creation_honours_idempotency_keys_as_checkout_does(customer_app, place_order, payments_of):
    order = place_order()
    url, key = f"/api/orders/{order['id']}/payments/", {"Idempotency-Key": "pay-1"}
    first = customer_app.post_json(url, {"provider": "simulated"}, headers=key, status=201)
    again = customer_app.post_json(url, {"provider": "simulated"}, headers=key, status=201)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert len(payments_of(order["id"])) == 1
    other = customer_app.post_json(url, {"provider": "simulated", "payment_method": "x"}, headers=key, status=422)
    assert other.json["errors"] == [{"field": "Idempotency-Key", "message": "Already used with a different request."}]
    # One key space per user for every endpoint honouring it (the core's idempotency keys).
    customer_app.post(f"/api/orders/{order['id']}/pay/", headers=key, status=422)


def test_the_confirmation_captures_the_latest_open_payment_once(customer_app, place_order, payments_of,
                                                              payment_events):
    order = place_order()
    customer_app.post_json(f"/api/orders/{order['id']}/payments/", {"provider": "simulated"}, status=201)
    assert customer_app.post(f"/api/orders/{order['id']}/pay/", status=200).json == {"detail": "Payment successful."}
    assert payments_of(order["id"]) == [("simulated", "captured", Decimal("25.00"), Decimal("25.00"), Decimal("0.00"),
                                         "confirmation")]
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "paid"
    answer = customer_app.post(f"/api/orders/{order['id']}/pay/", status=409).json
    assert answer["detail"] == f"Order {order['id']} is paid; it cannot become paid."
    assert [type(event).__name__ for event in payment_events].count("OrderPaid") == 1
    [payment] = customer_app.get(f"/api/orders/{order['id']}/payments/").json["results"]
    assert payment["client_secret"] is None


def test_two_payments_one_settles_the_order_and_the_other_is_released(customer_app, place_order, payments_of):
    order = place_order()
    for _ in range(2):
        customer_app.post_json(f"/api/orders/{order['id']}/payments/", {"provider": "simulated"}, status=201)
    customer_app.post(f"/api/orders/{order['id']}/pay/", status=200)
    assert [(status, settled_by) for _p, status, _a, _c, _r, settled_by in payments_of(order["id"])] == [
        ("voided", None), ("captured", "confirmation")]


def test_cancelling_an_order_releases_its_open_payments(customer_app, place_order, payments_of, payment_events):
    order = place_order()
    customer_app.post_json(f"/api/orders/{order['id']}/payments/", {"provider": "simulated"}, status=201)
    customer_app.post(f"/api/orders/{order['id']}/cancel/", status=200)
    assert [status for _p, status, *_rest in payments_of(order["id"])] == ["voided"]
    released = [event for event in payment_events if type(event).__name__ == "PaymentReleased"]
    assert [(event.order_id, event.refunded) for event in released] == [(order["id"], False)]
    customer_app.post(f"/api/orders/{order['id']}/pay/", status=409)
