"""Fixtures of the payments tests: the shop with payments, orders placed and paid over HTTP, delivered by an
admin, and another app instance with a provider of the tests' own (signed webhooks) on the test's connection."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from decimal import Decimal

import pytest
import webtest
from sqlalchemy import select

from shopcore.testing import make_test_configurator
from shopcore_cart.api import CartService
from shopcore_payments.api import (AUTHORIZED, CAPTURED, PAYMENT_PROVIDERS, VOIDED, InvalidWebhook, PaymentProvider,
                                   PaymentRequest, ProviderPayment, ProviderRefund, WebhookEvent)
from shopcore_payments.models import Payment

CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}
SHOP_PLUGINS = ["catalog", "cart", "orders", "notifications", "payments"]


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return list(SHOP_PLUGINS)


@pytest.fixture
def place_order(customer_app, make_product, make_request):
    """`place_order(app=customer_app, lines={name: (price, quantity)})` -> the checkout's 201 body."""

    def place(app=None, lines: dict | None = None) -> dict:
        app = app or customer_app
        with make_request() as request:
            for name, (price, quantity) in (lines or {"Desk lamp": ("12.50", 2)}).items():
                request.find_service(CartService).add_item(app.user_id, make_product(name=name, price=price, stock=50),
                                                           quantity)
        return app.post_json("/api/orders/checkout/", CHECKOUT, status=201).json

    return place


@pytest.fixture
def paid_order(place_order, customer_app):
    """`paid_order(app=customer_app, lines=...)`: placed and paid (the seed's pay/: the simulated provider)."""

    def pay(app=None, lines: dict | None = None) -> dict:
        app = app or customer_app
        order = place_order(app, lines)
        app.post(f"/api/orders/{order['id']}/pay/", status=200)
        return app.get(f"/api/orders/{order['id']}/").json

    return pay


@pytest.fixture
def delivered_order(paid_order, admin_app, customer_app):
    def deliver(app=None, lines: dict | None = None) -> dict:
        order = paid_order(app, lines)
        for status in ("shipped", "delivered"):
            admin_app.patch_json(f"/api/orders/{order['id']}/status/", {"status": status}, status=200)
        return (app or customer_app).get(f"/api/orders/{order['id']}/").json

    return deliver


@pytest.fixture
def payments_of(make_request):
    """`payments_of(order_id)` -> [(provider, status, amount, captured, refunded, settled_by)], oldest first."""

    def read(order_id: int) -> list[tuple]:
        with make_request() as request:
            return [(p.provider, p.status, p.amount, p.captured_amount, p.refunded_amount, p.settled_by)
                    for p in request.dbsession.scalars(select(Payment).where(Payment.order_id == order_id)
                                                       .order_by(Payment.id))]

    return read


@pytest.fixture
def payment_events(shopcore_registry):
    """Payments and order events emitted during the test (in the transaction), in order."""
    from pyramid.config import Configurator

    from shopcore.events import ShopEvent

    seen = []

    def record(request, event):
        if type(event).__module__.startswith(("shopcore_payments", "shopcore_orders")):
            seen.append(event)

    config = Configurator(registry=shopcore_registry)
    config.add_event_subscriber(record, ShopEvent, after_commit=False)
    config.commit()
    yield seen
    subscribers = shopcore_registry["shopcore.event_subscribers"]
    subscribers[:] = [entry for entry in subscribers if entry[-1] is not record]


class SignedTestProvider(PaymentProvider):
    """A provider of the tests' own: payments wait for authorisation, webhooks are HMAC-signed JSON
    `{"id", "type", "reference", "status", "amount"}` with the signature in `X-Test-Signature`."""

    SECRET = b"test-webhook-secret"

    def __init__(self):
        self.calls: list[tuple] = []
        self.states: dict[str, str] = {}

    def create(self, request, payment: PaymentRequest) -> ProviderPayment:
        reference = f"tp_{uuid.uuid4().hex[:12]}"
        self.states[reference] = "pending"
        self.calls.append(("create", reference, payment.amount))
        return ProviderPayment(reference, "pending", payment.amount, client_secret=f"{reference}_secret")

    def capture(self, request, reference, amount, currency) -> ProviderPayment:
        self.calls.append(("capture", reference, amount))
        if self.states[reference] == "pending":
            from shopcore_payments.api import PaymentNotAuthorized

            raise PaymentNotAuthorized()
        self.states[reference] = CAPTURED
        return ProviderPayment(reference, CAPTURED, amount)

    def void(self, request, reference) -> ProviderPayment:
        self.calls.append(("void", reference))
        if self.states[reference] == CAPTURED:
            return ProviderPayment(reference, CAPTURED, None)
        self.states[reference] = VOIDED
        return ProviderPayment(reference, VOIDED)

    def refund(self, request, reference, amount, currency, *, key) -> ProviderRefund:
        self.calls.append(("refund", reference, amount, key))
        return ProviderRefund(f"tr_{uuid.uuid4().hex[:8]}", "succeeded", amount)

    def authorize(self, reference: str) -> None:
        """What the customer does at the provider."""
        self.states[reference] = AUTHORIZED

    @classmethod
    def sign(cls, body: bytes) -> str:
        return hmac.new(cls.SECRET, body, hashlib.sha256).hexdigest()

    def parse_webhook(self, request) -> WebhookEvent | None:
        signature = request.headers.get("X-Test-Signature", "")
        if not hmac.compare_digest(signature, self.sign(request.body)):
            raise InvalidWebhook("The X-Test-Signature does not match the body.")
        event = json.loads(request.body)
        amount = Decimal(event["amount"]) if event.get("amount") else None
        return WebhookEvent(event["id"], event["type"], event["reference"], event["status"], amount)


@pytest.fixture
def test_provider() -> SignedTestProvider:
    return SignedTestProvider()


@pytest.fixture
def signed_shop(shopcore_settings, shopcore_registry, db_connection, test_provider):
    """Another instance of the shop on the test's connection, offering `testpay` (the provider above)
    besides `simulated`: `(webtest app, provider)`."""

    def offer_test_provider(config):
        config.add_extension(PAYMENT_PROVIDERS, test_provider, key="testpay")

    config = make_test_configurator({**shopcore_settings, "shopcore.payments.providers": "simulated testpay"},
                                    extra_includes=(offer_test_provider,), **{
                                        "shopcore.engine": shopcore_registry["shopcore.engine"],
                                        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
    return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"}), config.registry


def send_webhook(app, event: dict, *, signature: str | None = None, status: int = 200):
    body = json.dumps(event).encode()
    return app.post("/api/payments/webhooks/testpay/", body, content_type="application/json",
                    headers={"X-Test-Signature": signature if signature is not None else SignedTestProvider.sign(body)},
                    status=status)


@pytest.fixture
def webhook():
    return send_webhook


@pytest.fixture
def mails_of(make_request):
    """`mails_of(order_id)` -> the kinds of the mails written to the outbox for that order, in order."""
    from shopcore.messaging.models import OutboxMessage

    def read(order_id: int) -> list[str]:
        with make_request() as request:
            rows = request.dbsession.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()
            return [row.kind for row in rows if (row.payload.get("order") or {}).get("id") == order_id]

    return read


@pytest.fixture
def concurrency(shopcore_engine) -> int:
    """How many clients race: 24 on PostgreSQL; SQLite runs one writer at a time, so 8 keep it short."""
    return 24 if shopcore_engine.dialect.name == "postgresql" else 8
