"""Webhooks: authenticated by the provider's signature only (a forged one is a 400 and logged), applied once
per event id, and racing the customer's confirmation or a cancellation with one outcome."""
import logging
from decimal import Decimal


def start_payment(app, customer_app, order) -> dict:
    return app.post_json(f"/api/orders/{order['id']}/payments/", {"provider": "testpay"},
                         headers={"Authorization": f"Bearer {customer_app.token}"}, status=201).json


def reference_of(make_request, payment_id: int) -> str:
    from shopcore_payments.models import Payment

    with make_request() as request:
        return request.dbsession.get(Payment, payment_id).reference


def test_a_signed_webhook_settles_the_payment_and_a_replay_changes_nothing(
        signed_shop, webhook, customer_app, place_order, make_request, payments_of, mails_of, test_provider):
    app, _registry = signed_shop
    order = place_order()
    payment = start_payment(app, customer_app, order)
    assert payment["status"] == "pending" and payment["client_secret"].endswith("_secret")
    reference = reference_of(make_request, payment["id"])
    test_provider.authorize(reference)
    event = {"id": "evt_1", "type": "payment.authorized", "reference": reference, "status": "authorized",
             "amount": "25.00"}
    assert webhook(app, event).json == {"detail": "Event processed."}
    assert payments_of(order["id"]) == [("testpay", "captured", Decimal("25.00"), Decimal("25.00"), Decimal("0.00"),
                                         "webhook")]
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "paid"
    captures = [call for call in test_provider.calls if call[0] == "capture"]
    assert webhook(app, event).json == {"detail": "Event already processed."}
    # Another event id saying the same thing finds the payment settled: nothing more is captured.
    assert webhook(app, {**event, "id": "evt_2", "status": "captured"}).json == {"detail": "Event processed."}
    assert [call for call in test_provider.calls if call[0] == "capture"] == captures == [
        ("capture", reference, Decimal("25.00"))]
    assert mails_of(order["id"]) == ["mail.order_placed", "mail.order_paid"]
    # The confirmation after the webhook: the order is paid already.
    app.post(f"/api/orders/{order['id']}/pay/", headers={"Authorization": f"Bearer {customer_app.token}"}, status=409)


def test_a_forged_signature_is_a_400_logged_and_changes_nothing(signed_shop, webhook, customer_app, place_order,
                                                                make_request, payments_of, caplog):
    app, _registry = signed_shop
    order = place_order()
    payment = start_payment(app, customer_app, order)
    event = {"id": "evt_forged", "type": "payment.captured", "reference": reference_of(make_request, payment["id"]),
             "status": "captured", "amount": "25.00"}
    with caplog.at_level(logging.WARNING, logger="shopcore_payments.services"):
        answer = webhook(app, event, signature="0" * 64, status=400).json
    assert answer == {"detail": "signature: The X-Test-Signature does not match the body.",
                      "errors": [{"field": "signature", "message": "The X-Test-Signature does not match the body."}]}
    assert any("webhook for payment provider testpay refused from 127.0.0.1" in r.getMessage() for r in caplog.records)
    assert [status for _p, status, *_rest in payments_of(order["id"])] == ["pending"]
    # The same event properly signed is applied: the forged one left no trace of its id.
    assert webhook(app, event).json == {"detail": "Event processed."}


def test_webhooks_of_unknown_providers_and_of_unknown_payments(signed_shop, webhook, testapp):
    app, _registry = signed_shop
    assert app.post("/api/payments/webhooks/nosuch/", b"{}", content_type="application/json", status=404).json == {
        "detail": "No payment provider 'nosuch'."}
    assert testapp.post("/api/payments/webhooks/simulated/", b"{}", content_type="application/json",
                        status=404).json == {"detail": "The simulated provider sends no webhooks."}
    event = {"id": "evt_x", "type": "payment.captured", "reference": "tp_elsewhere", "status": "captured"}
    assert webhook(app, event).json == {"detail": "Event ignored: no such payment."}


def test_a_payment_arriving_for_a_cancelled_order_is_released(signed_shop, webhook, customer_app, place_order,
                                                              make_request, payments_of, test_provider, mails_of):
    app, _registry = signed_shop
    order = place_order()
    payment = start_payment(app, customer_app, order)
    reference = reference_of(make_request, payment["id"])
    test_provider.states[reference] = "captured"  # the provider took the money before the shop could void it
    app.post(f"/api/orders/{order['id']}/cancel/", headers={"Authorization": f"Bearer {customer_app.token}"},
             status=200)
    # The cancellation found the money taken: it was refunded in full.
    assert payments_of(order["id"]) == [("testpay", "refunded", Decimal("25.00"), Decimal("25.00"), Decimal("25.00"),
                                         None)]
    assert [call[0] for call in test_provider.calls] == ["create", "void", "refund"]
    assert webhook(app, {"id": "evt_late", "type": "payment.captured", "reference": reference, "status": "captured",
                         "amount": "25.00"}).json == {"detail": "Event processed."}
    assert [call[0] for call in test_provider.calls] == ["create", "void", "refund"]
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "cancelled"
    assert mails_of(order["id"]) == ["mail.order_placed", "mail.order_cancelled"]


def test_a_failed_payment_may_be_tried_again_and_then_settles(signed_shop, webhook, customer_app, place_order,
                                                             make_request, payments_of, test_provider):
    app, _registry = signed_shop
    order = place_order()
    payment = start_payment(app, customer_app, order)
    reference = reference_of(make_request, payment["id"])
    webhook(app, {"id": "evt_f", "type": "payment.failed", "reference": reference, "status": "failed"})
    assert [status for _p, status, *_rest in payments_of(order["id"])] == ["failed"]
    test_provider.authorize(reference)
    app.post(f"/api/orders/{order['id']}/pay/", headers={"Authorization": f"Bearer {customer_app.token}"}, status=200)
    assert [status for _p, status, *_rest in payments_of(order["id"])] == ["captured"]


def test_confirming_before_the_customer_authorised_is_a_409_and_changes_nothing(signed_shop, customer_app,
                                                                              place_order, payments_of):
    app, _registry = signed_shop
    order = place_order()
    start_payment(app, customer_app, order)
    answer = app.post(f"/api/orders/{order['id']}/pay/", headers={"Authorization": f"Bearer {customer_app.token}"},
                      status=409).json
    assert answer["detail"] == "The payment is not authorised yet: the customer must complete it first."
    assert [status for _p, status, *_rest in payments_of(order["id"])] == ["pending"]
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "pending"
