"""Fixtures of the checkout-depth tests: the whole shop (coupons, shipping and tax included), a German
zone with a method and German rates made over the admin API, and fresh customers (each with its own
rate-limit budget)."""
from __future__ import annotations

import itertools

import pytest

PLUGINS = ["catalog", "cart", "orders", "notifications", "coupons", "shipping", "tax"]
BERLIN = {"name": "Erika Mustermann", "line1": "Heidestraße 17", "city": "Berlin", "postal_code": "10557",
          "country": "DE", "phone": "+49 30 901820"}
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return PLUGINS


@pytest.fixture(scope="session")
def shopcore_extra_settings() -> dict:
    # Property tests check out and apply codes many times; the limits themselves are tested elsewhere.
    return {"shopcore.orders.rate.checkout_user": "100000/hour", "shopcore.coupons.rate.apply_user": "100000/hour",
            "shopcore.coupons.rate.apply_ip": "100000/hour"}


@pytest.fixture
def germany(admin_app):
    """A zone DE/AT with a flat 4.90 method, and German rates (19 % standard, 7 % reduced)."""
    zone = admin_app.post_json("/api/shipping/zones/", {"name": "DACH", "countries": ["DE", "AT"]}).json
    method = admin_app.post_json("/api/shipping/methods/", {"zone": zone["id"], "name": "DHL Paket", "rule": "flat",
                                                            "price": "4.90"}).json
    standard = admin_app.post_json("/api/tax/rates/", {"country": "DE", "rate": "19", "label": "USt. 19%"}).json
    reduced = admin_app.post_json("/api/tax/rates/", {"country": "DE", "rate": "7", "tax_class": "reduced",
                                                      "label": "USt. 7%"}).json
    return {"zone": zone, "method": method, "standard": standard, "reduced": reduced}


@pytest.fixture
def new_customer(testapp, make_user, token_for):
    """`new_customer()` -> a new customer's authenticated app (`.user_id`)."""
    from shopcore.testing.clients import AuthenticatedApp

    def make() -> AuthenticatedApp:
        user_id = make_user(f"buyer{next(_numbers)}")
        return AuthenticatedApp(testapp, token_for(user_id)["access"], user_id)

    return make
