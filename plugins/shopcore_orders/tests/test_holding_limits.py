"""What one customer may hold back without paying (issue 21, point 8): at most
`shopcore.orders.max_pending_quantity` units of a product in unpaid orders, and a checkout rate limit.

Before, one customer could check out a product's whole stock, in as many orders as they liked, and
never pay.
"""
import pytest

from shopcore.plugins import PluginError
from shopcore.testing import AuthenticatedApp
from shopcore_cart.api import CartService

CHECKOUT = "/api/orders/checkout/"
CAP = 10  # the default


def test_unpaid_orders_hold_at_most_the_cap_of_a_product(customer_app, other_customer_app, make_product,
                                                         add_to_cart, shop_details, stock_of):
    lamp = make_product(name="Lamp", price="12.50", stock=100)
    add_to_cart(customer_app.user_id, lamp, 6)
    first = customer_app.post_json(CHECKOUT, shop_details, status=201).json
    add_to_cart(customer_app.user_id, lamp, 4)
    customer_app.post_json(CHECKOUT, shop_details, status=201)
    add_to_cart(customer_app.user_id, lamp, 1)

    refused = customer_app.post_json(CHECKOUT, shop_details, status=409).json

    message = (f"At most {CAP} units of 'Lamp' (product {lamp}) may wait in unpaid orders; you have 10 in unpaid "
               f"orders and 1 in the cart. Pay or cancel those orders first.")
    assert refused == {"detail": message, "errors": [{"field": "cart", "message": message}]}
    assert stock_of(lamp) == 90  # nothing taken by the refused checkout
    assert customer_app.get("/api/cart/").json["items"][0]["quantity"] == 1  # the cart is kept
    # Another customer is not held back by this one's orders.
    add_to_cart(other_customer_app.user_id, lamp, CAP)
    other_customer_app.post_json(CHECKOUT, shop_details, status=201)
    # Paying an order frees its units from the cap.
    customer_app.post(f"/api/orders/{first['id']}/pay/", status=200)
    customer_app.post_json(CHECKOUT, shop_details, status=201)


def test_one_order_over_the_cap_is_refused_and_other_products_count_apart(customer_app, make_product, add_to_cart,
                                                                         shop_details, make_request):
    lamp, rug = make_product(name="Lamp", stock=100), make_product(name="Rug", stock=100)
    add_to_cart(customer_app.user_id, lamp, CAP + 1)
    customer_app.post_json(CHECKOUT, shop_details, status=409)
    with make_request() as request:
        request.find_service(CartService).clear(customer_app.user_id)
    add_to_cart(customer_app.user_id, lamp, CAP)
    add_to_cart(customer_app.user_id, rug, CAP)
    customer_app.post_json(CHECKOUT, shop_details, status=201)


@pytest.fixture
def make_app(shopcore_settings, shopcore_registry, db_connection, token_for):
    """`make_app(user_id, **settings)`: that customer's client of another app instance with these settings."""
    import webtest

    from shopcore.testing import make_test_configurator

    def make(user_id: int, **overrides) -> AuthenticatedApp:
        config = make_test_configurator({**shopcore_settings, **overrides}, **{
            "shopcore.engine": shopcore_registry["shopcore.engine"],
            "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"],
        })
        app = webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        return AuthenticatedApp(app, token_for(user_id)["access"], user_id)

    return make


def test_the_cap_is_a_setting(make_app, customer, make_product, add_to_cart, shop_details):
    app = make_app(customer, **{"shopcore.orders.max_pending_quantity": "2"})
    add_to_cart(customer, make_product(name="Lamp", stock=100), 3)
    app.post_json(CHECKOUT, shop_details, status=409)


def test_checkouts_are_rate_limited_per_customer(make_app, customer, make_user, make_product, add_to_cart,
                                                 shop_details):
    settings = {"shopcore.orders.rate.checkout_user": "2/minute"}
    app = make_app(customer, **settings)
    lamp = make_product(name="Lamp", stock=100)
    for _ in range(2):
        add_to_cart(customer, lamp, 1)
        app.post_json(CHECKOUT, shop_details, status=201)
    add_to_cart(customer, lamp, 1)

    refused = app.post_json(CHECKOUT, shop_details, status=429)

    assert refused.json == {"detail": "Too many attempts; try again later."}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert app.get("/api/cart/").json["items"][0]["quantity"] == 1  # nothing changed
    # Counted per customer: another one checks out.
    other = make_user("other")
    add_to_cart(other, lamp, 1)
    make_app(other, **settings).post_json(CHECKOUT, shop_details, status=201)


@pytest.mark.parametrize("key, value", [
    ("pending_ttl", "0"), ("pending_ttl", "soon"), ("expire_interval", "-1"), ("max_pending_quantity", "1.5"),
    ("rate.checkout_user", "often"),
])
def test_a_bad_setting_is_named(make_app, customer, key, value):
    with pytest.raises(PluginError, match=rf"setting shopcore\.orders\.{key.replace('.', '[.]')}: "):
        make_app(customer, **{f"shopcore.orders.{key}": value})


def test_a_misspelt_setting_stops_start_up(make_app, customer):
    # Contract 2.0: the orders' settings are a table, so a key under its prefix that no row declares
    # is refused instead of silently leaving the default in force.
    with pytest.raises(PluginError, match=r"setting shopcore\.orders\.pending_tll: unknown \(known: "
                                          r"shopcore\.orders\.expire_interval, "):
        make_app(customer, **{"shopcore.orders.pending_tll": "60"})
