"""The `stripe` payment provider: PaymentIntents, refunds and signed webhooks through the official SDK.

A payment is a PaymentIntent for the order's total (in the currency's minor unit), with the order in
its metadata. The customer's client confirms it with Stripe.js and the `client_secret`, or the client
sends a PaymentMethod (`pm_...`) and the intent is confirmed at once. With `capture_method = manual`
(the default) the card is only authorised then; `capture` takes the money once the shop has marked
the order paid, and `void` cancels the intent of an order that can no longer take it. The SDK's
client is the provider's own (`stripe.StripeClient`, no module globals), with its timeout under the
payments point's budget and one network retry, which the SDK makes safe with an idempotency key.

Webhooks are verified by `StripeClient.construct_event` (the `Stripe-Signature` header, the endpoint's
signing secret, five minutes of tolerance). What the shop acts on:
`payment_intent.amount_capturable_updated` (authorised), `payment_intent.succeeded` (captured),
`payment_intent.payment_failed` and `payment_intent.canceled`; anything else is acknowledged and
ignored.
"""
from __future__ import annotations

import contextlib
import logging
from decimal import Decimal

import stripe

from shopcore.errors import Conflict

from shopcore_payments.api import (AUTHORIZED, CAPTURED, FAILED, PENDING, VOIDED, InvalidWebhook, PaymentDeclined,
                                   PaymentNotAuthorized, PaymentProvider, PaymentRequest, ProviderPayment,
                                   ProviderRefund, WebhookEvent)

log = logging.getLogger(__name__)

# Stripe's currencies without two decimal places (its "zero-decimal" and "three-decimal" lists): the
# shop's amounts have cents, which these cannot carry as Stripe wants them.
NOT_TWO_DECIMALS = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                              "VUV", "XAF", "XOF", "XPF", "BHD", "JOD", "KWD", "OMR", "TND"})
EVENT_STATES = {"payment_intent.amount_capturable_updated": AUTHORIZED, "payment_intent.succeeded": CAPTURED,
                "payment_intent.payment_failed": FAILED, "payment_intent.canceled": VOIDED}
UNCONFIGURED = "Stripe is not configured on this shop (shopcore.stripe.secret_key)."


def check_currency(currency: str) -> None:
    if currency in NOT_TWO_DECIMALS:
        from shopcore.settings import SettingsError

        raise SettingsError(f"setting shopcore.payments.currency: the stripe plugin takes currencies with two decimal "
                            f"places, and Stripe counts {currency} otherwise")


def to_minor(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def from_minor(amount: int | None) -> Decimal | None:
    return None if amount is None else (Decimal(amount) / 100).quantize(Decimal("0.01"))


def captured_amount(intent: dict) -> Decimal | None:
    """What Stripe took: `amount_received`; a stand-in without it shows it on the expanded charge."""
    if intent.get("amount_received") is not None:
        return from_minor(intent["amount_received"])
    charge = intent.get("latest_charge")
    if isinstance(charge, dict) and charge.get("captured"):
        return from_minor(charge.get("amount"))
    return from_minor(intent.get("amount"))


def state_of(intent: dict) -> ProviderPayment:
    """A PaymentIntent's status as the payments plugin counts it."""
    status = intent.get("status")
    failure = (intent.get("last_payment_error") or {}).get("message")
    if status == "succeeded":
        return ProviderPayment(intent["id"], CAPTURED, captured_amount(intent))
    if status == "requires_capture":
        return ProviderPayment(intent["id"], AUTHORIZED, from_minor(intent.get("amount")))
    if status == "canceled":
        return ProviderPayment(intent["id"], VOIDED)
    if status == "requires_payment_method" and failure:
        return ProviderPayment(intent["id"], FAILED, failure=failure)
    # requires_payment_method, requires_confirmation, requires_action, processing
    return ProviderPayment(intent["id"], PENDING, from_minor(intent.get("amount")),
                           client_secret=intent.get("client_secret"))


@contextlib.contextmanager
def stripe_refusals():
    """Stripe's answers about the request (a declined card, a state it cannot leave) are the shop's 409;
    its outages and our own errors (network, authentication, 5xx) propagate, logged by the core as a 503."""
    try:
        yield
    except stripe.CardError as exc:
        raise PaymentDeclined(exc.user_message or "the card was declined") from None
    except stripe.InvalidRequestError as exc:
        log.warning("stripe refused a request: %s (code %s)", exc.user_message or exc, exc.code)
        raise Conflict(f"Stripe refused: {exc.user_message or 'the request is not valid for this payment'}",
                       [{"field": "payment", "message": "Refused by Stripe."}]) from None


class StripeProvider(PaymentProvider):
    def __init__(self, *, secret_key: str, webhook_secret: str, api_base: str, capture_method: str, timeout: float):
        self.configured = bool(secret_key)
        self.webhook_secret = webhook_secret
        self.capture_method = capture_method
        self.client = stripe.StripeClient(secret_key or "sk_unset", base_addresses={"api": api_base.rstrip("/")},
                                          http_client=stripe.RequestsClient(timeout=timeout), max_network_retries=1)

    @property
    def intents(self):
        if not self.configured:
            raise Conflict(UNCONFIGURED, [{"field": "provider", "message": "Not configured."}])
        return self.client.v1.payment_intents

    def _intent(self, reference: str) -> dict:
        with stripe_refusals():
            return self.intents.retrieve(reference).to_dict()

    def create(self, request, payment: PaymentRequest) -> ProviderPayment:
        # The order in the metadata (what the Stripe dashboard shows; localstripe takes no `description`).
        params = {"amount": to_minor(payment.amount), "currency": payment.currency.lower(),
                  "capture_method": self.capture_method,
                  "metadata": {"order_id": str(payment.order_id), "user_id": str(payment.user_id),
                               "description": payment.description}}
        if payment.payment_method:
            params.update(payment_method=payment.payment_method, confirm=True)
        with stripe_refusals():
            intent = self.intents.create(params=params).to_dict()
        state = state_of(intent)
        if state.status == FAILED:
            raise PaymentDeclined(state.failure or "the card was declined")
        return ProviderPayment(state.reference, state.status, state.amount, client_secret=intent.get("client_secret"))

    def capture(self, request, reference: str, amount: Decimal, currency: str) -> ProviderPayment:
        state = state_of(self._intent(reference))
        if state.status == AUTHORIZED:
            with stripe_refusals():
                state = state_of(self.intents.capture(reference, params={"amount_to_capture": to_minor(amount)})
                                 .to_dict())
        if state.status == CAPTURED:
            return state
        if state.status == FAILED:
            raise PaymentDeclined(state.failure or "the card was declined")
        if state.status == VOIDED:
            raise PaymentNotAuthorized("The payment was cancelled at Stripe; start a new payment.")
        raise PaymentNotAuthorized()

    def void(self, request, reference: str) -> ProviderPayment:
        state = state_of(self._intent(reference))
        if state.status in (CAPTURED, VOIDED):
            return state
        with stripe_refusals():
            return state_of(self.intents.cancel(reference).to_dict())

    def refund(self, request, reference: str, amount: Decimal, currency: str, *, key: str) -> ProviderRefund:
        if not self.configured:
            raise Conflict(UNCONFIGURED, [{"field": "provider", "message": "Not configured."}])
        with stripe_refusals():
            refund = self.client.v1.refunds.create(params={"payment_intent": reference, "amount": to_minor(amount)},
                                                   options={"idempotency_key": key}).to_dict()
        if refund.get("status") in ("failed", "canceled"):
            raise Conflict(f"Stripe did not refund: {refund.get('failure_reason') or refund.get('status')}",
                           [{"field": "refund", "message": "Refused by Stripe."}])
        return ProviderRefund(refund["id"], "succeeded" if refund.get("status") == "succeeded" else "pending",
                              from_minor(refund.get("amount")) or amount)

    def parse_webhook(self, request) -> WebhookEvent | None:
        if not self.webhook_secret:
            raise InvalidWebhook("No Stripe webhook signing secret is configured (shopcore.stripe.webhook_secret).")
        header = request.headers.get("Stripe-Signature")
        if not header:
            raise InvalidWebhook("The Stripe-Signature header is missing.")
        try:
            event = self.client.construct_event(request.body, header, self.webhook_secret).to_dict()
        except stripe.SignatureVerificationError:
            raise InvalidWebhook("The Stripe-Signature does not match the body.") from None
        except ValueError:
            raise InvalidWebhook("The body is not a Stripe event.") from None
        status = EVENT_STATES.get(event.get("type"))
        intent = (event.get("data") or {}).get("object") or {}
        if status is None or intent.get("object") != "payment_intent" or not intent.get("id"):
            return None
        amount = captured_amount(intent) if status == CAPTURED else from_minor(intent.get("amount"))
        return WebhookEvent(id=event["id"], type=event["type"], reference=intent["id"], status=status, amount=amount)
