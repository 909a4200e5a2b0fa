"""The orders plugin's test kit (a pytest plugin, loaded by this package's `pytest11` entry point): orders
placed through the cart and orders services, for any suite whose allow-list has `orders`.

- `make_order(user_id, products=None, *, shipping_address=..., payment_method=...)` -> the order's
  summary (`id`, `status`, `total_price`, `items`, ...; see `OrderService.order_summary`). `products`
  is `{product_id: quantity}`; without it, one new product at 10.00 is bought once. The lines are
  added to the user's cart and the cart is checked out, as `POST /api/orders/checkout/` does (so
  every checkout rule, extension point and event applies); rolled back with the test.
- `make_paid_order(user_id, products=None, ...)`: the same order, then paid by its customer.

A suite without `orders` in its allow-list that asks for one of these is skipped, saying so.
"""
from __future__ import annotations

import itertools

import pytest

__all__ = ["make_order", "make_paid_order", "order_factory"]

SHIPPING_ADDRESS = "1 Main St, Springfield"
PAYMENT_METHOD = "credit_card"
# Names of the products made for orders: unique within the run, whichever fixture makes them.
_product_numbers = itertools.count(1)


def _require_orders(registry) -> None:
    if "orders" not in {manifest.name for manifest in registry["shopcore.plugins"]}:
        pytest.skip("needs the orders plugin: add 'orders' to this suite's shopcore_plugins allow-list")


def order_factory(open_request, *, paid: bool):
    """`make(user_id, products=None, ...)` -> the order's summary, written in `open_request()`."""

    def make(user_id: int, products: dict[int, int] | None = None, *, shipping_address: str = SHIPPING_ADDRESS,
             payment_method: str = PAYMENT_METHOD) -> dict:
        from shopcore_cart.api import CartService
        from shopcore_catalog.api import CatalogService
        from shopcore_orders.api import OrderService

        with open_request() as request:
            if products is None:
                name = f"Ordered product {next(_product_numbers)}"
                products = {request.find_service(CatalogService).create_product(name, "10.00", stock=10).id: 1}
            cart = request.find_service(CartService)
            for product_id, quantity in products.items():
                cart.add_item(user_id, product_id, quantity)
            orders = request.find_service(OrderService)
            order_id = orders.place_order(user_id, shipping_address, payment_method)["id"]
            if paid:
                orders.pay(user_id, order_id)
            return orders.order_summary(order_id)

    return make


@pytest.fixture
def make_order(shopcore_registry, make_request):
    """`make_order(user_id, {product_id: quantity} or None)` -> a pending order's summary."""
    _require_orders(shopcore_registry)
    return order_factory(make_request, paid=False)


@pytest.fixture
def make_paid_order(shopcore_registry, make_request):
    """`make_paid_order(user_id, {product_id: quantity} or None)` -> a paid order's summary."""
    _require_orders(shopcore_registry)
    return order_factory(make_request, paid=True)
