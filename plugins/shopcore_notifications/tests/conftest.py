"""Fixtures for the notifications plugin: a real SMTP server, real brokers, an app with real commits."""
from decimal import Decimal

import pytest

from shopcore.testing import request_context


class FakeOrders:
    """Stands in for the orders plugin's `orders` service where that plugin is not enabled."""

    def __init__(self):
        self.orders = {}

    def add(self, order_id: int, user_id: int, **fields) -> dict:
        order = {
            "id": order_id, "user_id": user_id, "status": "pending", "total_price": Decimal("59.97"),
            "shipping_address": "1 Main Street, Springfield", "payment_method": "card",
            "items": [
                {"product": 3, "product_name": "Blue mug", "quantity": 2, "price": Decimal("12.50")},
                {"product": 8, "product_name": "Tea & biscuits <deluxe>", "quantity": 1, "price": Decimal("34.97")},
            ],
            "created_at": "2026-11-27T10:00:00+00:00",
            **fields,
        }
        self.orders[order_id] = order
        return order

    def order_summary(self, order_id: int) -> dict:
        return dict(self.orders[order_id])


@pytest.fixture
def fake_orders() -> FakeOrders:
    return FakeOrders()


@pytest.fixture
def mail_app(messaging_app, smtp_server, fake_orders):
    """`mail_app(**settings)`: notifications sending through the test SMTP server, in process unless a
    broker is given; order mails wired to `fake_orders` when the orders plugin is not enabled. A
    setting given as None takes its default."""
    from shopcore_notifications import subscribe_order_mails

    def build(plugins: str = "notifications", **overrides):
        def configure(config):
            if "orders" not in plugins.split():
                from shopcore_orders.api import OrderService

                config.register_service(fake_orders, OrderService)
                subscribe_order_mails(config)

        settings = {
            "shopcore.plugins": plugins, "shopcore.shop_name": "Test Shop",
            "shopcore.mail.sender": "shop@test.example", "shopcore.base_url": "https://shop.test.example",
            **smtp_server.settings(), **overrides}
        # A setting given as None is left out, so it takes its default.
        return messaging_app(configure=configure, **{key: value for key, value in settings.items() if value is not None})

    return build


@pytest.fixture
def make_customer():
    """`make_customer(registry, "alice")` -> user id, committed (registration mails are not sent here)."""
    from shopcore.accounts.services import create_user

    def make(registry, username: str, email: str | None = None) -> int:
        with request_context(registry) as request:
            return create_user(request, username=username, email=email or f"{username}@example.com",
                               password="correct horse battery staple").id

    return make
