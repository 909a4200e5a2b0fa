"""Stripe through localstripe, with manual capture (the default): the customer authorises the PaymentIntent,
the shop captures it once it marked the order paid (whichever of its confirmation and Stripe's webhook comes
first), voids it when the order is cancelled, refunds through Stripe; signatures are checked by the SDK."""
import json
import logging
from decimal import Decimal

import pytest

from shopcore.testing import make_test_configurator, run_in_threads, wait_until

from .conftest import CARD, DECLINED_CARD


def start_payment(shop, token, order, **body):
    status, payment, _ = shop.request("POST", f"/api/orders/{order['id']}/payments/", token,
                                      {"provider": "stripe", **body})
    assert status == 201, payment
    return payment


def test_a_payment_authorised_by_the_customer_is_captured_at_the_confirmation_once(stripe_shop):
    shop = stripe_shop
    user, token = shop.user("ada")
    order = shop.order(user, token)
    payment = start_payment(shop, token, order)
    reference = shop.reference(payment["id"])
    assert (payment["status"], payment["amount"], payment["currency"]) == ("pending", "25.00", "USD")
    assert payment["client_secret"] == shop.intent(reference)["client_secret"]
    intent = shop.intent(reference)
    assert (intent["amount"], intent["currency"], intent["capture_method"], intent["metadata"]) == (
        2500, "usd", "manual", {"order_id": str(order["id"]), "user_id": str(user),
                                "description": f"shopcore order {order['id']}"})
    # Confirming before the customer authorised it: a 409, nothing changes.
    assert shop.request("POST", f"/api/orders/{order['id']}/pay/", token)[0] == 409
    assert shop.authorise(reference)["status"] == "requires_capture"
    status, body, _ = shop.request("POST", f"/api/orders/{order['id']}/pay/", token)
    assert (status, body) == (200, {"detail": "Payment successful."})
    captured = shop.intent(reference)
    assert captured["status"] == "succeeded" and captured["latest_charge"]["captured"] is True
    assert captured["latest_charge"]["amount"] == 2500
    settled = shop.payment(payment["id"])
    assert (settled.status, settled.captured_amount, settled.settled_by) == ("captured", Decimal("25.00"),
                                                                             "confirmation")
    # Stripe's webhook for the capture arrives over HTTP, is verified and applied: it changes nothing more.
    shop.wait_for_webhook("payment_intent.succeeded", reference)
    wait_until(lambda: ("payment_intent.succeeded" in dict(shop.processed_events())), what="the event applied")
    assert shop.request("GET", f"/api/orders/{order['id']}/", token)[1]["status"] == "paid"
    assert shop.mails(order["id"]) == ["mail.order_placed", "mail.order_paid"]


def test_a_card_given_at_creation_is_authorised_at_once_and_a_declined_one_is_a_409(stripe_shop):
    shop = stripe_shop
    user, token = shop.user("bo")
    order = shop.order(user, token)
    status, answer, _ = shop.request("POST", f"/api/orders/{order['id']}/payments/", token,
                                     {"provider": "stripe", "payment_method": shop.card(DECLINED_CARD)})
    assert status == 409 and answer["detail"].startswith("The payment was declined"), answer
    assert shop.request("GET", f"/api/orders/{order['id']}/payments/", token)[1]["count"] == 0
    payment = start_payment(shop, token, order, payment_method=shop.card(CARD))
    assert payment["status"] == "authorized"
    assert shop.request("POST", f"/api/orders/{order['id']}/pay/", token)[0] == 200
    assert shop.intent(shop.reference(payment["id"]))["status"] == "succeeded"


def test_forged_signatures_are_refused_and_logged_and_a_replayed_event_changes_nothing(stripe_shop, caplog):
    shop = stripe_shop
    user, token = shop.user("cy")
    order = shop.order(user, token)
    payment = start_payment(shop, token, order, payment_method=shop.card())
    reference = shop.reference(payment["id"])
    shop.request("POST", f"/api/orders/{order['id']}/pay/", token)
    shop.wait_for_webhook("payment_intent.succeeded", reference)
    body, signature = next((b, s) for b, s in shop.recorder.webhooks if json.loads(b)["type"] == "payment_intent.succeeded")
    wait_until(lambda: shop.processed_events(), what="the event applied")
    before = (shop.processed_events(), shop.mails(order["id"]), shop.payment(payment["id"]).status)

    replay = shop.http.request  # the same bytes and signature, as Stripe retries a delivery
    import http.client

    def post(raw: bytes, stripe_signature: str | None):
        connection = http.client.HTTPConnection("127.0.0.1", shop.http.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if stripe_signature is not None:
            headers["Stripe-Signature"] = stripe_signature
        connection.request("POST", "/api/payments/webhooks/stripe/", body=raw, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())

    assert post(body, signature) == (200, {"detail": "Event already processed."})
    with caplog.at_level(logging.WARNING, logger="shopcore_payments.services"):
        tampered = body.replace(b'"amount": 2500', b'"amount": 1')
        assert post(tampered, signature)[0] == 400
        assert post(body, signature.replace("v1=", "v1=00"))[0] == 400
        status, answer = post(body, None)
    assert (status, answer["detail"]) == (400, "signature: The Stripe-Signature header is missing.")
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 3 and all("webhook for payment provider stripe refused" in m for m in refusals)
    assert (shop.processed_events(), shop.mails(order["id"]), shop.payment(payment["id"]).status) == before
    assert replay is not None


def test_cancelling_an_authorised_order_voids_the_intent_at_stripe(stripe_shop):
    shop = stripe_shop
    user, token = shop.user("di")
    order = shop.order(user, token)
    payment = start_payment(shop, token, order)
    reference = shop.reference(payment["id"])
    shop.authorise(reference)
    assert shop.request("POST", f"/api/orders/{order['id']}/cancel/", token)[0] == 200
    assert shop.intent(reference)["status"] == "canceled"
    assert shop.payment(payment["id"]).status == "voided"
    assert shop.mails(order["id"]) == ["mail.order_placed", "mail.order_cancelled"]


def test_refunds_go_through_stripe_and_never_exceed_the_capture(stripe_shop):
    shop = stripe_shop
    user, token = shop.user("ed")
    _admin, admin_token = shop.user("boss", admin=True)
    order = shop.order(user, token)
    payment = start_payment(shop, token, order, payment_method=shop.card())
    reference = shop.reference(payment["id"])
    shop.request("POST", f"/api/orders/{order['id']}/pay/", token)
    status, refund, _ = shop.request("POST", f"/api/orders/{order['id']}/refunds/", admin_token,
                                     {"amount": "5.00", "reason": "Late delivery"})
    assert status == 201, refund
    assert [(r["amount"], r["status"]) for r in shop.refunds(reference)] == [(500, "succeeded")]
    status, answer, _ = shop.request("POST", f"/api/orders/{order['id']}/refunds/", admin_token,
                                     {"amount": "20.01", "reason": "Too much"})
    assert status == 409, answer
    assert len(shop.refunds(reference)) == 1
    status, _, _ = shop.request("POST", f"/api/orders/{order['id']}/refunds/", admin_token,
                                {"lines": [{"item": order["items"][0]["id"], "quantity": 1}], "reason": "Broken"})
    assert status == 201
    assert sorted(r["amount"] for r in shop.refunds(reference)) == [500, 1250]
    assert shop.request("GET", f"/api/orders/{order['id']}/", token)[1]["status"] == "partially_refunded"
    assert sum(r["amount"] for r in shop.refunds(reference)) <= shop.intent(reference)["latest_charge"]["amount"]


def test_confirmation_racing_cancellation_leaves_one_outcome_at_stripe_too(stripe_shop):
    shop = stripe_shop
    user, token = shop.user("fay")
    outcomes = set()
    for _round in range(6):
        order = shop.order(user, token, quantity=1)
        payment = start_payment(shop, token, order)
        reference = shop.reference(payment["id"])
        shop.authorise(reference)
        paths = [f"/api/orders/{order['id']}/pay/", f"/api/orders/{order['id']}/cancel/"]
        statuses = run_in_threads(2, lambda i: shop.request("POST", paths[i], token)[0])
        assert sorted(statuses) == [200, 409], statuses
        final = shop.request("GET", f"/api/orders/{order['id']}/", token)[1]["status"]
        intent = shop.intent(reference)
        mails = shop.mails(order["id"])
        if final == "paid":
            assert intent["status"] == "succeeded" and intent["latest_charge"]["amount"] == 1250
            assert mails == ["mail.order_placed", "mail.order_paid"]
        else:
            assert final == "cancelled" and intent["status"] == "canceled"
            assert mails == ["mail.order_placed", "mail.order_cancelled"]
        outcomes.add(final)
    assert outcomes  # which wins is the race's; each round has exactly one


def test_production_refuses_to_start_without_the_stripe_secrets(shopcore_settings):
    from shopcore.plugins import PluginError
    from shopcore.settings import SettingsError

    settings = {**shopcore_settings, "shopcore.env": "production", "sqlalchemy.url": "sqlite://",
                "shopcore.redis_url": "redis://127.0.0.1:6379/3", "shopcore.stripe.secret_key": "",
                "shopcore.stripe.webhook_secret": ""}
    with pytest.raises((SettingsError, PluginError), match=r"shopcore.stripe.secret_key, "
                                                           r"shopcore.stripe.webhook_secret: required in production"):
        make_test_configurator(settings)
