"""The payments plugin's public surface: the payment provider extension point and its types, for
provider plugins (`shopcore_stripe`), and the events other plugins subscribe to (`shopcore_payments.events`).

A provider is an object providing `PaymentProvider`, added to the point under its name:

    from shopcore_payments.api import PAYMENT_PROVIDERS

    config.add_extension(PAYMENT_PROVIDERS, StripeProvider(settings), key="stripe")

The payments plugin calls one method at a time, through the core (`shopcore.extensions.call_extension`),
under the point's budget (30 s) and failure policy (`block`): a `ShopError` the provider raises is the
answer (a declined card is a `PaymentDeclined`, a 409); any other exception is logged with the
provider's plugin and answered with a 503, and the request's transaction rolls back. Keep the
provider's own network timeouts well under the budget: a call over it is a failure too, even though
the provider may have done what was asked (the provider's webhook then reconciles the payment).

What a provider never decides: whether an order is paid (the payments plugin does, exactly once,
whichever of the customer's confirmation and the webhook comes first) and how much may be refunded
(never more than was captured). Amounts are `Decimal`s in the shop's currency
(`shopcore.payments.currency`, an ISO 4217 code given in upper case).

Part of the plugin contract (`shopcore.plugins.CONTRACT_VERSION` 2.1): new methods come with a minor version.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from shopcore.errors import Conflict, InvalidInput

PAYMENT_PROVIDERS = "payments.providers"

# What a provider says a payment is, after any call or in a webhook.
PENDING = "pending"          # made; the customer has not authorised it yet (3-D Secure, Stripe.js to confirm)
AUTHORIZED = "authorized"    # the customer authorised it; the money is held, not taken
CAPTURED = "captured"        # the money is taken
VOIDED = "voided"            # released or abandoned; no money was taken
FAILED = "failed"            # declined (the customer may try again with another card)
PROVIDER_STATES = (PENDING, AUTHORIZED, CAPTURED, VOIDED, FAILED)

__all__ = ["AUTHORIZED", "CAPTURED", "FAILED", "PAYMENT_PROVIDERS", "PENDING", "PROVIDER_STATES", "VOIDED",
           "InvalidWebhook", "PaymentDeclined", "PaymentNotAuthorized", "PaymentProvider", "PaymentRequest", "PaymentService",
           "ProviderPayment", "ProviderRefund", "WebhookEvent"]


@dataclass(frozen=True)
class PaymentRequest:
    """What `create` is asked for: the order's total in the shop's currency.

    `payment_method` is the provider's own token for a card the customer gave it (Stripe's `pm_...`),
    when the client sends one; without it the client authorises the payment itself with the
    `client_secret` the provider returns. `description` is for the provider's dashboard.
    """

    order_id: int
    user_id: int
    amount: Decimal
    currency: str
    description: str
    payment_method: str | None = None


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's word on a payment: its `reference` (the provider's id), `status` (one of
    PROVIDER_STATES), the amount it concerns (captured: what was taken), and for `create` the
    `client_secret` the customer's client authorises it with (None when there is none)."""

    reference: str
    status: str
    amount: Decimal | None = None
    client_secret: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class ProviderRefund:
    """A refund the provider made: its `reference`, `status` (`succeeded` or `pending`) and amount."""

    reference: str
    status: str
    amount: Decimal


@dataclass(frozen=True)
class WebhookEvent:
    """A provider's event, normalised: its own `id` (a replay of the same id changes nothing), its `type`
    as the provider names it, the payment's `reference`, what the payment now is (`status`, one of
    PROVIDER_STATES) and the amount concerned (captured: what was taken)."""

    id: str
    type: str
    reference: str
    status: str
    amount: Decimal | None = None


class PaymentDeclined(Conflict):
    """The provider refused the payment (a declined card, insufficient funds): a 409 with its reason."""

    def __init__(self, reason: str):
        super().__init__(f"The payment was declined: {reason}", [{"field": "payment", "message": reason}])


class PaymentNotAuthorized(Conflict):
    """`capture` of a payment the customer has not authorised (yet): a 409."""

    def __init__(self, detail: str = "The payment is not authorised yet: the customer must complete it first."):
        super().__init__(detail, [{"field": "payment", "message": "Not authorised."}])


class InvalidWebhook(InvalidInput):
    """A webhook whose signature does not verify, or that cannot be read: a 400, logged by the shop."""

    def __init__(self, message: str):
        super().__init__("signature", message)


@runtime_checkable
class PaymentProvider(Protocol):
    """A payment provider: what the payments plugin asks of it, each call in the request's transaction."""

    def create(self, request, payment: PaymentRequest) -> ProviderPayment:
        """Start a payment for `payment.amount` (an intent the customer authorises); status `pending`,
        or `authorized` when the provider needs nothing more from the customer."""
        ...

    def capture(self, request, reference: str, amount: Decimal, currency: str) -> ProviderPayment:
        """Take the authorised money (status `captured`, with the amount taken). A payment the provider
        already captured (automatic capture) answers `captured` too; one the customer has not
        authorised raises `PaymentNotAuthorized`, one declined `PaymentDeclined`."""
        ...

    def void(self, request, reference: str) -> ProviderPayment:
        """Release an authorisation, or abandon a payment not authorised yet (status `voided`). If the
        provider had already taken the money, answer `captured` with the amount: the caller refunds it."""
        ...

    def refund(self, request, reference: str, amount: Decimal, currency: str, *, key: str) -> ProviderRefund:
        """Give back `amount` of a captured payment. `key` is unique to this refund: a provider that
        supports idempotency keys sends it, so a retried call refunds once."""
        ...

    def parse_webhook(self, request) -> WebhookEvent | None:
        """Verify the provider's signature on `request` (its raw body and headers) and read the event;
        raise `InvalidWebhook` when the signature is missing or wrong. None for an event type that
        says nothing about a payment (the shop answers 200 and ignores it)."""
        ...


@runtime_checkable
class PaymentService(Protocol):
    """The payments plugin's rules for other plugins (`request.find_service(PaymentService)`), bound to one
    request and its transaction. Bodies are those of the API (`docs` in the plugin's openapi.yaml)."""

    def create_payment(self, user_id: int, order_id: int, provider: str, payment_method: str | None = None) -> dict:
        """Start paying one's own pending order with an offered provider; the Payment body."""
        ...

    def list_payments(self, viewer_id: int, order_id: int, *, is_admin: bool = False, page: int = 1,
                      page_size: int = 20) -> dict:
        """A page of an order's payments (its customer's, or any for an admin), newest first."""
        ...

    def confirm(self, user_id: int, order_id: int) -> dict:
        """The customer's confirmation: the order's latest open payment is captured and the order paid."""
        ...

    def receive_webhook(self, provider: str) -> dict:
        """Apply the request's webhook of `provider` (verified by its signature), once per event id."""
        ...

    def refund(self, order_id: int, *, reason: str, amount: Any = None, lines: list[dict] | None = None,
               admin_id: int | None = None, return_id: int | None = None) -> dict:
        """Give back an amount, or lines (`{"item", "quantity"}`), of a paid order; the Refund body."""
        ...

    def request_return(self, user_id: int, order_id: int, lines: list[dict], reason: str) -> dict:
        """A customer's return of units of their delivered order, within the window; the Return body."""
        ...

    def approve_return(self, return_id: int, *, admin_id: int, restock: bool = False) -> dict:
        """Refund a requested return's lines (and restock them if asked); the Return body."""
        ...

    def reject_return(self, return_id: int, *, admin_id: int, note: str) -> dict:
        """Reject a requested return, saying why; the Return body."""
        ...

    def get_return(self, viewer_id: int, return_id: int, *, is_admin: bool = False) -> dict:
        """One return: the customer's own, or any for an admin."""
        ...

    def list_returns(self, viewer_id: int, *, is_admin: bool = False, page: int = 1, page_size: int = 20,
                     status: str | None = None) -> dict:
        """A page of returns, newest first: the viewer's own, or everyone's for an admin."""
        ...
