"""Fixtures of the tax tests: the shop with tax (and orders, to check out), classes and rates made over the
admin API, carts filled through the cart service. Only the testing kit and public imports."""
from __future__ import annotations

import pytest

from shopcore_cart.api import CartService


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return ["catalog", "cart", "orders", "tax"]


@pytest.fixture
def rate(admin_app):
    """`rate("DE", "19", tax_class="standard", region="")` -> the new rate's body."""

    def make(country: str, percent: str, **fields) -> dict:
        return admin_app.post_json("/api/tax/rates/", {"country": country, "rate": percent, **fields},
                                   status=201).json

    return make


@pytest.fixture
def add_to_cart(make_request):
    def add(user_id: int, product_id: int, quantity: int = 1) -> None:
        with make_request() as request:
            request.find_service(CartService).add_item(user_id, product_id, quantity)

    return add


@pytest.fixture
def make_app(shopcore_settings, shopcore_registry):
    """`make_app(**settings)`: another app instance on the test's connection with these settings changed;
    `make_app(...)(token)` sends that user's token."""
    import webtest

    from shopcore.testing import make_test_configurator

    def make(**overrides) -> webtest.TestApp:
        config = make_test_configurator({**shopcore_settings, **overrides}, **{
            "shopcore.engine": shopcore_registry["shopcore.engine"],
            "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"],
        })
        return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    return make
