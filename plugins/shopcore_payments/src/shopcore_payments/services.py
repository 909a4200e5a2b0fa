"""Payments: an order's money taken through its provider exactly once, what cannot be kept released, and
the providers' webhooks.

An order is paid by one path only. The customer's confirmation (`POST /api/orders/{id}/pay/`, the
orders plugin's `orders.pay` point) and the provider's webhook both end in `settle`, which first
moves the order from pending to paid with the orders service's one conditional UPDATE (`mark_paid`,
which also locks the order's row): of two racing settlements exactly one succeeds; the other finds
the order paid and does nothing, or, for a payment that is not the one that paid, releases it.
Only then is the payment claimed (another conditional UPDATE on its own status) and the money
captured at the provider, inside the same transaction: if the provider refuses, everything rolls
back and the order is pending again. A cancellation takes the order's row first too, so a payment
arriving for a cancelled order finds it so and is released: voided, or refunded in full when the
provider had already taken the money. Locks are always taken in that order (the order, then the
payment), so settlements and cancellations never deadlock.

A webhook's event id is recorded in the transaction that applies it: a replay, or the same event
delivered twice at once, finds the id and changes nothing; an event whose processing failed rolls
back with its id and is applied when the provider retries.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from shopcore.accounts.ratelimit import client_ip
from shopcore.clock import utcnow
from shopcore.db import upsert
from shopcore.errors import Conflict, NotFound, ShopError, Unprocessable
from shopcore.extensions import call_extension, extension_for, extension_keys
from shopcore.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_body, public_url
from shopcore_orders.api import OrderService

from shopcore_payments.api import (PAYMENT_PROVIDERS, InvalidWebhook, PaymentNotAuthorized, PaymentRequest,
                                   ProviderPayment)
from shopcore_payments.events import PaymentReleased
from shopcore_payments.models import (AUTHORIZED, CAPTURED, CONFIRMATION, FAILED, OPEN, PENDING, REFUND_SUCCEEDED,
                                      REFUNDED, REFUNDABLE, VOIDED, WEBHOOK, Payment, Refund, WebhookEvent)
from shopcore_payments.settings import SETTINGS_KEY, PaymentSettings
from shopcore_payments.simulated import SIMULATED

log = logging.getLogger(__name__)

ORDER_BODY = "orders.order"
RELEASE_REASON = "Released: the order could no longer take this payment."


def call_provider(request, provider: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """`method` of the provider named `provider`, under the point's budget and failure policy."""
    return call_extension(request, provider_extension(request.registry, provider), *args, method=method, **kwargs)


def provider_extension(registry, provider: str):
    try:
        return extension_for(registry, PAYMENT_PROVIDERS, provider)
    except LookupError:
        raise NotFound(f"No payment provider {provider!r}.") from None


def payment_body(payment: Payment) -> dict:
    return {
        "id": payment.id,
        "order": payment.order_id,
        "provider": payment.provider,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "captured_amount": payment.captured_amount,
        "refunded_amount": payment.refunded_amount,
        # Only an open payment can still be authorised with it; once settled it is of no use to anyone.
        "client_secret": payment.client_secret if payment.status in OPEN else None,
        "failure": payment.failure,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
    }


class PaymentFlows:
    """Payments of one request: creation, confirmation, settlement, release, webhooks."""

    def __init__(self, request):
        self.request = request
        self.session = request.dbsession

    @property
    def settings(self) -> PaymentSettings:
        return self.request.registry[SETTINGS_KEY]

    @property
    def orders(self) -> OrderService:
        return self.request.find_service(OrderService)

    def _own_order(self, user_id: int, order_id: int) -> dict:
        summary = self.orders.order_summary(order_id)
        if summary["user_id"] != user_id:
            raise NotFound("Order not found.")
        return summary

    @staticmethod
    def _not_payable(summary: dict) -> Conflict:
        return Conflict(f"Order {summary['id']} is {summary['status']}; it cannot become paid.",
                        [{"field": "status", "message": f"The order is {summary['status']}."}])

    def _changed(self, order_id: int) -> None:
        self.request.invalidate_body(ORDER_BODY, [order_id])

    # --- reading -----------------------------------------------------------------------------------------

    def list_payments(self, viewer_id: int, order_id: int, *, is_admin: bool = False, page: int = 1,
                      page_size: int = DEFAULT_PAGE_SIZE) -> dict:
        self.orders.get_order(viewer_id, order_id, is_admin=is_admin)  # a customer's own order, or 404
        statement = select(Payment).where(Payment.order_id == order_id).order_by(Payment.id.desc())
        found = fetch_page(self.session, statement, page, page_size)
        params = {"page_size": page_size} if page_size != DEFAULT_PAGE_SIZE else {}
        return page_body(found, [payment_body(payment) for payment in found.rows],
                         public_url(self.request, "payments.order_payments", id=order_id), params)

    # --- creating ----------------------------------------------------------------------------------------

    def create_payment(self, user_id: int, order_id: int, provider: str, payment_method: str | None = None) -> dict:
        """Start paying one's own pending order with `provider` (one the shop offers: else a 422)."""
        summary = self._own_order(user_id, order_id)
        if summary["status"] != "pending":
            raise Conflict(f"Order {order_id} is {summary['status']}; only a pending order can be paid.",
                           [{"field": "status", "message": f"The order is {summary['status']}."}])
        if provider not in self.settings.providers:
            offered = ", ".join(self.settings.providers)
            message = f"The shop does not take payments with {provider!r} (it takes: {offered})."
            raise Unprocessable(message, [{"field": "provider", "message": message}])
        return payment_body(self._create(summary, provider, payment_method))

    def _create(self, summary: dict, provider: str, payment_method: str | None) -> Payment:
        asked = PaymentRequest(order_id=summary["id"], user_id=summary["user_id"], amount=summary["total_price"],
                               currency=self.settings.currency, payment_method=payment_method,
                               description=f"{self.request.registry.settings['shopcore.shop_name']} order {summary['id']}")
        answer: ProviderPayment = call_provider(self.request, provider, "create", asked)
        # Captured already (a provider that took the money at once) is still to be settled here: the
        # order becomes paid only through `settle`, which then finds the money taken.
        status = PENDING if answer.status == PENDING else AUTHORIZED
        now = utcnow()
        payment = Payment(order_id=summary["id"], user_id=summary["user_id"], provider=provider,
                          reference=answer.reference, status=status, amount=summary["total_price"],
                          currency=self.settings.currency, client_secret=answer.client_secret,
                          created_at=now, updated_at=now)
        self.session.add(payment)
        self.session.flush()
        return payment

    # --- settling ----------------------------------------------------------------------------------------

    def confirm(self, user_id: int, order_id: int) -> dict:
        """The customer's confirmation (`pay/`): the order's latest open payment is settled.

        Without one, an order is paid with the `simulated` provider when the shop offers it (the seed's
        pay), else the customer is told to start a payment first.
        """
        summary = self._own_order(user_id, order_id)
        payment = self.session.scalar(select(Payment).where(Payment.order_id == order_id, Payment.status.in_(OPEN))
                                      .order_by(Payment.id.desc()).limit(1))
        if payment is None:
            if summary["status"] != "pending":
                raise self._not_payable(summary)
            if SIMULATED not in self.settings.providers:
                raise Conflict(f"Order {order_id} has no payment to confirm: start one with "
                               f"POST /api/orders/{order_id}/payments/.",
                               [{"field": "payment", "message": "No payment yet."}])
            payment = self._create(summary, SIMULATED, None)
        # A refusal here rolls the request back, so nothing is released on this path: the order's
        # cancellation released its payments itself, and a settlement releases the order's others.
        if not self.settle(payment, CONFIRMATION, release_if_unpayable=False):
            raise self._not_payable(self.orders.order_summary(order_id))
        return {"detail": "Payment successful."}

    def settle(self, payment: Payment, via: str, observed: ProviderPayment | None = None, *,
               release_if_unpayable: bool = True) -> bool:
        """Pay the order with `payment`, or release the payment if the order can no longer take it.

        True when this call paid the order; the order's other open payments are then released.
        `observed` is what the provider's webhook said (a capture it made already is not asked for again).
        """
        try:
            self.orders.mark_paid(payment.order_id)
        except Conflict:
            # Cancelled, expired, or paid already (by this payment through the other path, or by another).
            if release_if_unpayable:
                self.release(payment, observed)
            return False
        claimed = self.session.execute(
            update(Payment).where(Payment.id == payment.id, Payment.status.in_(OPEN))
            .values(status=CAPTURED, settled_by=via, failure=None, updated_at=utcnow())
            .returning(Payment.id).execution_options(synchronize_session=False)).first()
        if claimed is None:
            # The order was pending, so no settlement of this payment happened; it was voided by hand.
            raise Conflict(f"Payment {payment.id} was released; start a new payment.",
                           [{"field": "payment", "message": "Released."}])
        if observed is not None and observed.status == CAPTURED:
            taken = observed
        else:
            taken = call_provider(self.request, payment.provider, "capture", payment.reference, payment.amount,
                                  payment.currency)
        if taken.status != CAPTURED:
            raise PaymentNotAuthorized()
        self.session.execute(update(Payment).where(Payment.id == payment.id)
                             .values(captured_amount=taken.amount if taken.amount is not None else payment.amount)
                             .execution_options(synchronize_session=False))
        for other in self.session.scalars(select(Payment).where(Payment.order_id == payment.order_id,
                                                                Payment.id != payment.id,
                                                                Payment.status.in_(OPEN))).all():
            self.release(other)
        self._changed(payment.order_id)
        return True

    def release(self, payment: Payment, observed: ProviderPayment | None = None) -> bool:
        """Give up an open payment the order cannot take: void it, or refund all of it when the provider
        already took the money. False when it was not open (settled or released by someone else)."""
        claimed = self.session.execute(
            update(Payment).where(Payment.id == payment.id, Payment.status.in_(OPEN))
            .values(status=VOIDED, updated_at=utcnow()).returning(Payment.id)
            .execution_options(synchronize_session=False)).first()
        if claimed is None:
            return False
        answer = observed if observed is not None and observed.status == CAPTURED else \
            call_provider(self.request, payment.provider, "void", payment.reference)
        refunded = answer.status == CAPTURED
        if refunded:
            amount = answer.amount if answer.amount is not None else payment.amount
            # The payment's own id makes the key: a retry of this release (a webhook delivered again
            # after a failure) refunds once at a provider that honours keys.
            given = call_provider(self.request, payment.provider, "refund", payment.reference, amount,
                                  payment.currency, key=f"shopcore-release-{payment.provider}-{payment.id}")
            self.session.execute(update(Payment).where(Payment.id == payment.id)
                                 .values(status=REFUNDED, captured_amount=amount, refunded_amount=amount)
                                 .execution_options(synchronize_session=False))
            self.session.add(Refund(order_id=payment.order_id, payment_id=payment.id, amount=amount,
                                    reason=RELEASE_REASON, status=given.status or REFUND_SUCCEEDED,
                                    reference=given.reference, created_at=utcnow()))
        log.info("payment %s (%s %s) of order %s released: %s", payment.id, payment.provider, payment.reference,
                 payment.order_id, "refunded" if refunded else "voided")
        self.request.notify(PaymentReleased(payment_id=payment.id, order_id=payment.order_id, user_id=payment.user_id,
                                            provider=payment.provider, amount=payment.amount, refunded=refunded))
        self._changed(payment.order_id)
        return True

    def release_open_payments(self, order_id: int) -> None:
        """The order was cancelled: release its open payments. A provider that fails here does not stop
        the cancellation: the payment stays open, and settling it later finds the order cancelled."""
        for payment in self.session.scalars(select(Payment).where(Payment.order_id == order_id,
                                                                  Payment.status.in_(OPEN))).all():
            try:
                with self.session.begin_nested():
                    self.release(payment)
            except ShopError as exc:
                log.warning("payment %s of cancelled order %s could not be released now (%s); it will be when its "
                            "provider reports it", payment.id, order_id, exc.detail)

    # --- webhooks ----------------------------------------------------------------------------------------

    def receive_webhook(self, provider: str) -> dict:
        """A provider's event: verified by the provider's signature alone, applied once per event id."""
        extension = provider_extension(self.request.registry, provider)
        try:
            event = call_extension(self.request, extension, method="parse_webhook")
        except InvalidWebhook as exc:
            log.warning("webhook for payment provider %s refused from %s: %s [request %s]", provider,
                        client_ip(self.request), exc.errors[0]["message"],
                        self.request.environ.get("shopcore.request_id", "-"))
            raise
        if event is None:
            return {"detail": "Event ignored."}
        fresh = upsert(self.session, WebhookEvent, {"provider": provider, "event_id": event.id,
                                                    "event_type": event.type[:100], "received_at": utcnow()},
                       conflict=[WebhookEvent.provider, WebhookEvent.event_id],
                       returning=[WebhookEvent.event_id]).first()
        if fresh is None:
            return {"detail": "Event already processed."}
        payment = self.session.scalar(select(Payment).where(Payment.provider == provider,
                                                            Payment.reference == event.reference))
        if payment is None:
            log.info("webhook %s %s of %s names no payment of this shop (%s)", event.type, event.id, provider,
                     event.reference)
            return {"detail": "Event ignored: no such payment."}
        if payment.status in OPEN:
            observed = ProviderPayment(reference=event.reference, status=event.status, amount=event.amount)
            if event.status in (AUTHORIZED, CAPTURED):
                self.settle(payment, WEBHOOK, observed)
            elif event.status in (FAILED, VOIDED):
                self.session.execute(
                    update(Payment).where(Payment.id == payment.id, Payment.status.in_(OPEN))
                    .values(status=event.status, updated_at=utcnow(),
                            failure="Declined by the provider." if event.status == FAILED else None)
                    .execution_options(synchronize_session=False))
                self._changed(payment.order_id)
        return {"detail": "Event processed."}

    # --- refunds' view of payments ------------------------------------------------------------------------

    def _settled_payment(self, order_id: int) -> Payment | None:
        """The order's captured payment, its row locked until the transaction ends (refunds and returns
        of one order are decided one after the other)."""
        return self.session.scalar(select(Payment).where(Payment.order_id == order_id,
                                                         Payment.status.in_(REFUNDABLE))
                                   .order_by(Payment.id).limit(1).with_for_update()
                                   .execution_options(populate_existing=True))


def offered_providers_check(config):
    """At commit, once every provider is registered: each offered provider exists (else start-up stops
    naming it), and production says so when payments may be taken without money."""
    from shopcore.plugins import PluginError

    def check():
        registry = config.registry
        known = extension_keys(registry, PAYMENT_PROVIDERS)
        settings: PaymentSettings = registry[SETTINGS_KEY]
        missing = [name for name in settings.providers if name not in known]
        if missing:
            raise PluginError(f"setting shopcore.payments.providers names {', '.join(map(repr, missing))}, which no "
                              f"enabled plugin offers (offered: {', '.join(known)})")
        if SIMULATED in settings.providers and registry.settings.get("shopcore.env") == "production":
            log.warning("shopcore.payments.providers offers 'simulated': orders can be paid without any money "
                        "(name your payment provider, e.g. SHOPCORE_PAYMENT_PROVIDERS=stripe)")

    return check


def payments_of_orders(request, ids: list[int]) -> dict[int, list[Payment]]:
    found: dict[int, list[Payment]] = {order_id: [] for order_id in ids}
    for payment in request.dbsession.scalars(select(Payment).where(Payment.order_id.in_(ids)).order_by(Payment.id)):
        found[payment.order_id].append(payment)
    return found


def captured_total(payments: list[Payment]) -> Decimal:
    return sum((p.captured_amount for p in payments), Decimal("0.00"))
