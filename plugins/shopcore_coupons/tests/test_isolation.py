"""Plugins are isolated from each other's failures as the contract says: a plugin raising after commit is
logged with its name and changes nothing; one raising in a decision hook fails the request with a bare 500
and everything the request did, the coupon use included, rolls back."""
import logging
import sys
import textwrap

import pytest
import webtest

from shopcore_cart.api import PRICE_ADJUSTMENTS
from shopcore_orders.api import CHECKOUT_VALIDATORS, ORDER_PLACED
from shopcore.testing import make_test_configurator

FLAKY_PLUGIN = '''
"""A plugin whose after-commit subscriber always fails."""
from shopcore_orders.events import OrderPlaced


def announce_order(request, event):
    raise RuntimeError("the flaky plugin's mail server is down")


def includeme(config):
    config.add_event_subscriber(announce_order, OrderPlaced, after_commit=True)
'''


@pytest.fixture(scope="module")
def flaky_plugin(tmp_path_factory):
    """The `shopcore_flaky` package, importable for this module's tests."""
    folder = tmp_path_factory.mktemp("flaky")
    (folder / "shopcore_flaky").mkdir()
    (folder / "shopcore_flaky" / "__init__.py").write_text(textwrap.dedent(FLAKY_PLUGIN))
    sys.path.insert(0, str(folder))
    yield "shopcore_flaky"
    sys.path.remove(str(folder))
    sys.modules.pop("shopcore_flaky", None)


@pytest.fixture
def app_with_flaky_plugin(flaky_plugin, shopcore_settings, shopcore_registry, db_connection):
    """The app with the flaky plugin included too, sharing the test's database transaction."""
    config = make_test_configurator(shopcore_settings, extra_includes=(flaky_plugin,), **{
        "shopcore.engine": shopcore_registry["shopcore.engine"],
        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"],
    })
    return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})


def test_a_plugin_failing_after_commit_is_logged_with_its_name_and_the_order_stands(
        app_with_flaky_plugin, customer_app, make_coupon, fill_cart, coupon_state, checkout_body, caplog):
    coupon = make_coupon("SAVE10")
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})

    with caplog.at_level(logging.ERROR):
        response = app_with_flaky_plugin.post_json("/api/orders/checkout/", checkout_body, status=201,
                                                   headers={"Authorization": f"Bearer {customer_app.token}"})

    order = response.json
    assert order["adjustments"] == [{"label": "Coupon SAVE10 (10% off)", "amount": "-1.00"}]
    assert customer_app.get(f"/api/orders/{order['id']}/").json["total_price"] == "9.00"
    assert coupon_state(coupon["id"]) == (1, [(order["id"], customer_app.user_id, "1.00", False)])
    failures = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(failures) == 1
    assert "shopcore_flaky" in failures[0].getMessage() and "OrderPlaced" in failures[0].getMessage()
    assert "mail server is down" in str(failures[0].exc_info[1])


@pytest.mark.parametrize("point", [CHECKOUT_VALIDATORS, ORDER_PLACED])
def test_a_plugin_raising_in_a_decision_hook_fails_checkout_with_a_bare_503_and_all_rolls_back(
        testapp, customer_app, make_coupon, fill_cart, coupon_state, checkout_body, register_extension, point):
    coupon = make_coupon("SAVE10", usage_limit=1)
    (lamp,) = fill_cart(customer_app, ("10.00", 2), stock=5)
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})

    def broken(request, *args):
        raise RuntimeError("secret-internal-detail")

    # Runs after the coupon's own implementation, which has counted the use by then.
    register_extension(point, broken, order=100)
    response = customer_app.post_json("/api/orders/checkout/", checkout_body, status=503)

    # The point blocks on failure: a 503 naming what could not be done, nothing internal.
    assert response.json["detail"].endswith("is temporarily unavailable; try again shortly.")
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert coupon_state(coupon["id"]) == (0, [])
    cart = customer_app.get("/api/cart/").json
    assert [(i["product"], i["quantity"]) for i in cart["items"]] == [(lamp, 2)]
    assert cart["adjustments"] == [{"label": "Coupon SAVE10 (10% off)", "amount": "-2.00"}]
    assert customer_app.get("/api/cart/coupon/").json["code"] == "SAVE10"
    assert testapp.get(f"/api/products/{lamp}/").json["stock"] == 5
    assert customer_app.get("/api/orders/").json["count"] == 0


def test_a_plugin_raising_while_pricing_fails_the_cart_with_a_bare_503(customer_app, make_coupon, fill_cart,
                                                                       register_extension):
    make_coupon("SAVE10")
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})

    def broken(request, cart):
        raise ValueError("secret-internal-detail")

    register_extension(PRICE_ADJUSTMENTS, broken, order=100)
    response = customer_app.get("/api/cart/", status=503)
    assert response.json == {"detail": "Pricing the cart is temporarily unavailable; try again shortly."}
    assert "secret" not in response.text
