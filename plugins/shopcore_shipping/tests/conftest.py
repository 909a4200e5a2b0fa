"""Fixtures of the shipping tests: the shop with shipping (and orders, to check out), zones and methods
made over the admin API, carts filled through the cart service. Only the testing kit and public imports."""
from __future__ import annotations

import pytest

from shopcore_cart.api import CartService


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return ["catalog", "cart", "orders", "shipping"]


@pytest.fixture
def zone(admin_app):
    """`zone("EU", ["DE", "FR"])` -> the new zone's body."""

    def make(name: str = "EU", countries=("DE", "FR", "AT")) -> dict:
        return admin_app.post_json("/api/shipping/zones/", {"name": name, "countries": list(countries)},
                                   status=201).json

    return make


@pytest.fixture
def method(admin_app):
    """`method(zone_id, rule="flat", price="4.90", **fields)` -> the new method's body."""

    def make(zone_id: int, name: str = "Parcel", rule: str = "flat", **fields) -> dict:
        body = {"zone": zone_id, "name": name, "rule": rule, **fields}
        if rule != "weight":
            body.setdefault("price", "4.90")
        return admin_app.post_json("/api/shipping/methods/", body, status=201).json

    return make


@pytest.fixture
def add_to_cart(make_request):
    def add(user_id: int, product_id: int, quantity: int = 1) -> None:
        with make_request() as request:
            request.find_service(CartService).add_item(user_id, product_id, quantity)

    return add
