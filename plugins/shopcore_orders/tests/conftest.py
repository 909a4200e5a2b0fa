"""Fixtures of the orders tests: carts filled through the cart service, orders placed through the API,
and data committed for real for the concurrency tests."""
from __future__ import annotations

import pytest

from shopcore.testing import request_context
from shopcore_cart.api import CartService
from shopcore_catalog.api import CatalogService

SHOP = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    """The orders plugin on its own (with what it requires, and the mails): its bodies carry no other
    plugin's fields, and pay is its own simulation. The payments plugin's suite runs the seed's pay
    and cancel through payments (`plugins/shopcore_payments/tests/test_seed_pay_and_cancel.py`)."""
    return ["catalog", "cart", "orders", "notifications"]


@pytest.fixture
def shop_details() -> dict:
    """A valid checkout body."""
    return dict(SHOP)


@pytest.fixture
def add_to_cart(make_request):
    """`add_to_cart(user_id, product_id, quantity=1)` through the cart service."""

    def add(user_id: int, product_id: int, quantity: int = 1) -> None:
        with make_request() as request:
            request.find_service(CartService).add_item(user_id, product_id, quantity)

    return add


@pytest.fixture
def place_order(customer_app, make_product, add_to_cart):
    """`place_order(app=customer_app, lines={name: (price, quantity)})` fills the cart and checks out.

    Each line is a new product with `stock` units; returns the 201 body.
    """

    def place(app=None, lines: dict | None = None, stock: int = 50) -> dict:
        app = app or customer_app
        for name, (price, quantity) in (lines or {"Desk lamp": ("12.50", 2)}).items():
            add_to_cart(app.user_id, make_product(name=name, price=price, stock=stock), quantity)
        return app.post_json("/api/orders/checkout/", SHOP, status=201).json

    return place


@pytest.fixture
def stock_of(make_request):
    def stock(product_id: int) -> int:
        with make_request() as request:
            return request.find_service(CatalogService).get_product(product_id).stock

    return stock


class Committed:
    """Users, products and carts written with real commits (`committed_db` empties the tables after)."""

    def __init__(self, registry):
        self.registry = registry

    def user(self, username: str, *, is_admin: bool = False) -> tuple[int, str]:
        """A new user's id and access token."""
        from shopcore.accounts.services import create_user
        from shopcore.accounts.tokens import issue_token_pair

        with request_context(self.registry) as request:
            user_id = create_user(request, username=username, email=f"{username}@example.com",
                                  password="correct horse battery", is_admin=is_admin).id
        with request_context(self.registry) as request:
            return user_id, issue_token_pair(request, user_id)["access"]

    def product(self, name: str, price: str = "10.00", stock: int = 1) -> int:
        with request_context(self.registry) as request:
            return request.find_service(CatalogService).create_product(name, price, stock=stock).id

    def add_to_cart(self, user_id: int, product_id: int, quantity: int) -> None:
        with request_context(self.registry) as request:
            request.find_service(CartService).add_item(user_id, product_id, quantity)

    def stock(self, product_id: int) -> int:
        with request_context(self.registry) as request:
            return request.find_service(CatalogService).get_product(product_id).stock

    def scalar(self, statement):
        with request_context(self.registry) as request:
            return request.dbsession.scalar(statement)


@pytest.fixture
def committed(committed_db, shopcore_registry) -> Committed:
    return Committed(shopcore_registry)


@pytest.fixture
def concurrency(shopcore_engine) -> int:
    """How many clients race: 24 on PostgreSQL; SQLite runs one writer at a time, so 8 keep it short."""
    return 24 if shopcore_engine.dialect.name == "postgresql" else 8


@pytest.fixture
def order_events(shopcore_registry):
    """The order events published after commit during the test, in order."""
    from pyramid.config import Configurator

    from shopcore_orders.events import OrderEvent

    seen = []

    def record(request, event):
        seen.append(event)

    config = Configurator(registry=shopcore_registry)
    config.add_event_subscriber(record, OrderEvent, after_commit=True)
    config.commit()
    yield seen
    subscribers = shopcore_registry["shopcore.event_subscribers"]
    subscribers[:] = [entry for entry in subscribers if entry[-1] is not record]
