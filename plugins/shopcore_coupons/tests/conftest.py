"""Fixtures of the coupons tests: the shop's plugins plus coupons, coupons made through the plugin's own
service, carts filled over HTTP. Only the testing kit and public imports."""
from __future__ import annotations

import pytest

from shopcore_coupons.services import CouponService

CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return ["catalog", "cart", "orders", "coupons"]


@pytest.fixture
def coupons(make_request):
    """`with coupons() as service:` the `coupons` service in a committed (savepoint) transaction."""
    import contextlib

    @contextlib.contextmanager
    def open_service():
        with make_request() as request:
            yield request.find_service(CouponService)

    return open_service


@pytest.fixture
def make_coupon(coupons):
    """`make_coupon("SAVE10", kind="percentage", value="10.00", **terms)` -> the coupon's body."""

    def make(code: str = "SAVE10", kind: str = "percentage", value: str = "10.00", **terms) -> dict:
        with coupons() as service:
            return service.create({"code": code, "kind": kind, "value": value, **terms})

    return make


@pytest.fixture
def coupon_state(coupons):
    """`coupon_state(coupon_id)` -> (uses, [(order id, user id, discount, released?)])."""

    def state(coupon_id: int):
        with coupons() as service:
            return service.get(coupon_id)["uses"], [
                (r["order"], r["user"], str(r["discount"]), r["released_at"] is not None)
                for r in service.redemptions(coupon_id)]

    return state


@pytest.fixture
def fill_cart(make_product):
    """`fill_cart(app, ("12.50", 2), ("3.33", 1), ...)`: a new product per (price, quantity), added over HTTP.

    Returns the product ids.
    """

    def fill(app, *lines: tuple[str, int], stock: int = 20) -> list[int]:
        products = []
        for index, (price, quantity) in enumerate(lines):
            product = make_product(name=f"Product {index} at {price}", price=price, stock=stock)
            app.post_json("/api/cart/items/", {"product": product, "quantity": quantity}, status=201)
            products.append(product)
        return products

    return fill


@pytest.fixture
def checkout_body() -> dict:
    return dict(CHECKOUT)


@pytest.fixture
def make_app(shopcore_settings, shopcore_registry, db_connection):
    """`make_app(**settings)`: another app instance on the test's connection with these settings changed."""
    import webtest

    from shopcore.testing import make_test_configurator

    def make(**overrides) -> webtest.TestApp:
        config = make_test_configurator({**shopcore_settings, **overrides}, **{
            "shopcore.engine": shopcore_registry["shopcore.engine"],
            "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"],
        })
        return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    return make
