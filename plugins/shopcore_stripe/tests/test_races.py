"""The webhook racing the customer's confirmation, and racing a cancellation, many times, with Stripe capturing
at once (`capture_method = automatic`): the money is taken when the customer confirms at Stripe, whose
`payment_intent.succeeded` webhook reaches the shop about a second later over HTTP, while the shop is asked
to pay or cancel at moments before, around and after it. Each round: one transition, one mail, one
captured amount (refunded in full when the cancellation won)."""
import time

import pytest

from shopcore.testing import wait_until

from .conftest import CARD

# Seconds between the customer's confirmation at Stripe and their call to the shop: localstripe sends its
# webhook after about one, so the first rounds are the shop's and the last Stripe's, and those around one
# are a real race.
DELAYS = (0.0, 0.2, 0.8, 0.95, 1.0, 1.05, 1.1, 1.2, 2.5, 3.0)


@pytest.fixture(scope="module")
def stripe_capture_method() -> str:
    return "automatic"


def confirmed_at_stripe(shop, token, order) -> tuple[int, str]:
    """The customer's card given with the payment: Stripe confirms and captures it at once."""
    status, payment, _ = shop.request("POST", f"/api/orders/{order['id']}/payments/", token,
                                      {"provider": "stripe", "payment_method": shop.card(CARD)})
    assert status == 201, payment
    reference = shop.reference(payment["id"])
    assert shop.intent(reference)["status"] == "succeeded"
    return payment["id"], reference


def settled(shop, reference: str) -> None:
    shop.wait_for_webhook("payment_intent.succeeded", reference)
    wait_until(lambda: shop.payment_events_for(reference), what="the webhook applied")


def test_the_webhook_racing_the_confirmation_pays_once(stripe_shop):
    shop = stripe_shop
    user, token = shop.user("racer")
    winners = []
    for delay in DELAYS:
        order = shop.order(user, token, quantity=1)
        payment_id, reference = confirmed_at_stripe(shop, token, order)
        time.sleep(delay)
        status, _, _ = shop.request("POST", f"/api/orders/{order['id']}/pay/", token)
        assert status in (200, 409)
        settled(shop, reference)
        payment = shop.payment(payment_id)
        assert shop.request("GET", f"/api/orders/{order['id']}/", token)[1]["status"] == "paid"
        assert (payment.status, str(payment.captured_amount), str(payment.refunded_amount)) == (
            "captured", "12.50", "0.00")
        assert (status == 200) == (payment.settled_by == "confirmation")
        assert shop.mails(order["id"]) == ["mail.order_placed", "mail.order_paid"]
        intent = shop.intent(reference)
        assert intent["latest_charge"]["amount"] == 1250 and shop.refunds(reference) == []
        winners.append(payment.settled_by)
    # Both paths won some rounds: each was really raced, and each settles alone.
    assert {"confirmation", "webhook"} <= set(winners), winners


def test_the_webhook_racing_a_cancellation_leaves_one_outcome(stripe_shop):
    shop = stripe_shop
    user, token = shop.user("canceller")
    outcomes = []
    for delay in DELAYS:
        order = shop.order(user, token, quantity=1)
        payment_id, reference = confirmed_at_stripe(shop, token, order)
        time.sleep(delay)
        status, _, _ = shop.request("POST", f"/api/orders/{order['id']}/cancel/", token)
        settled(shop, reference)
        final = shop.request("GET", f"/api/orders/{order['id']}/", token)[1]["status"]
        payment = shop.payment(payment_id)
        refunds = shop.refunds(reference)
        if final == "paid":
            assert status == 409
            assert (payment.status, str(payment.captured_amount)) == ("captured", "12.50") and refunds == []
            assert shop.mails(order["id"]) == ["mail.order_placed", "mail.order_paid"]
        else:
            assert (final, status) == ("cancelled", 200)
            # Stripe had taken the money: the shop gave all of it back, once.
            assert (payment.status, str(payment.refunded_amount)) == ("refunded", "12.50")
            assert [r["amount"] for r in refunds] == [1250]
            assert shop.mails(order["id"]) == ["mail.order_placed", "mail.order_cancelled"]
        outcomes.append(final)
    assert {"paid", "cancelled"} <= set(outcomes), outcomes
