"""Checkout with a coupon: the discount recorded on the order, the use counted with it, refusals that change
nothing, and a cancelled order giving its use back."""
import pytest

from shopcore_coupons.services import CouponService
from shopcore_orders.api import CHECKOUT_VALIDATORS

PAST = "2020-01-01T00:00:00Z"


def cart_state(app) -> tuple:
    body = app.get("/api/cart/").json
    return [(item["product"], item["quantity"]) for item in body["items"]], body["adjustments"]


def stock_of(testapp, product_id: int) -> int:
    return testapp.get(f"/api/products/{product_id}/").json["stock"]


def order_count(app) -> int:
    return app.get("/api/orders/").json["count"]


def test_checkout_records_the_discount_on_the_order_and_counts_the_use(customer_app, make_coupon, fill_cart,
                                                                       coupon_state, checkout_body):
    coupon = make_coupon("SAVE10", kind="percentage", value="10.00", usage_limit=5)
    fill_cart(customer_app, ("12.50", 2), ("3.33", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    order = customer_app.post_json("/api/orders/checkout/", checkout_body, status=201).json
    assert order["adjustments"] == [{"label": "Coupon SAVE10 (10% off)", "amount": "-2.83"}]
    assert (order["subtotal"], order["total_price"]) == ("28.33", "25.50")
    assert customer_app.get(f"/api/orders/{order['id']}/").json["adjustments"] == order["adjustments"]
    assert coupon_state(coupon["id"]) == (1, [(order["id"], customer_app.user_id, "2.83", False)])
    # The code is spent: it is off the (now empty) cart.
    customer_app.get("/api/cart/coupon/", status=404)
    assert cart_state(customer_app) == ([], [])


def test_without_a_code_checkout_is_untouched(customer_app, make_coupon, fill_cart, coupon_state, checkout_body):
    coupon = make_coupon("SAVE10")
    fill_cart(customer_app, ("10.00", 1))
    order = customer_app.post_json("/api/orders/checkout/", checkout_body, status=201).json
    assert (order["adjustments"], order["total_price"]) == ([], "10.00")
    assert coupon_state(coupon["id"]) == (0, [])


@pytest.mark.parametrize("change, reason", [
    ({"expires_at": PAST}, "Coupon SAVE10 expired at 2020-01-01 00:00 UTC."),
    ({"active": False}, "Coupon SAVE10 is not active."),
    ({"minimum_total": "100.00"}, "Coupon SAVE10 needs a subtotal of at least 100.00; the cart's is 25.00."),
])
def test_a_code_that_cannot_be_used_at_checkout_refuses_it_and_nothing_changes(
        testapp, customer_app, admin_app, make_coupon, fill_cart, coupon_state, checkout_body, change, reason):
    coupon = make_coupon("SAVE10")
    (lamp,) = fill_cart(customer_app, ("12.50", 2))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    admin_app.patch_json(f"/api/coupons/{coupon['id']}/", change)

    response = customer_app.post_json("/api/orders/checkout/", checkout_body, status=409)
    assert response.json == {"detail": reason}
    assert cart_state(customer_app) == ([(lamp, 2)], [])
    assert customer_app.get("/api/cart/coupon/").json["code"] == "SAVE10"
    assert (stock_of(testapp, lamp), order_count(customer_app), coupon_state(coupon["id"])) == (20, 0, (0, []))

    # Taking the code off lets the customer check out at the full price.
    customer_app.delete("/api/cart/coupon/", status=204)
    order = customer_app.post_json("/api/orders/checkout/", checkout_body, status=201).json
    assert (order["adjustments"], order["total_price"]) == ([], "25.00")


def test_the_usage_limit_refuses_the_next_checkout(customer_app, other_customer_app, admin_app, make_coupon,
                                                   fill_cart, coupon_state, checkout_body):
    coupon = make_coupon("ONCE", kind="fixed", value="5.00", usage_limit=2)
    for app in (customer_app, other_customer_app):
        fill_cart(app, ("10.00", 1))
        app.post_json("/api/cart/coupon/", {"code": "ONCE"})
    customer_app.post_json("/api/orders/checkout/", checkout_body, status=201)
    # Lowered to the one use counted while the other customer's cart holds the code.
    admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {"usage_limit": 1})
    response = other_customer_app.post_json("/api/orders/checkout/", checkout_body, status=409)
    assert response.json == {"detail": "Coupon ONCE has reached its usage limit."}
    assert coupon_state(coupon["id"])[0] == 1


def test_the_per_customer_limit_is_checked_again_at_checkout(customer_app, admin_app, make_coupon, fill_cart,
                                                             coupon_state, checkout_body):
    coupon = make_coupon("MINE")
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "MINE"})
    customer_app.post_json("/api/orders/checkout/", checkout_body, status=201)
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "MINE"})
    # The admin limits it to one use per customer after the code went on the cart: uses before count.
    admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {"per_customer_limit": 1})
    response = customer_app.post_json("/api/orders/checkout/", checkout_body, status=409)
    assert response.json == {"detail": "Coupon MINE can be used once per customer, and you have used it once."}
    assert coupon_state(coupon["id"])[0] == 1


def test_a_checkout_failing_after_the_use_was_taken_gives_it_back(testapp, customer_app, admin_app, make_coupon,
                                                                  fill_cart, coupon_state, checkout_body):
    coupon = make_coupon("SAVE10", usage_limit=1)
    (lamp,) = fill_cart(customer_app, ("10.00", 3), stock=3)
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    # The stock falls below the cart's line after the cart was filled: checkout fails after the validators.
    admin_app.patch_json(f"/api/products/{lamp}/", {"stock": 2})
    response = customer_app.post_json("/api/orders/checkout/", checkout_body, status=409)
    assert "2 available, 3 in the cart" in response.json["detail"]
    assert coupon_state(coupon["id"]) == (0, [])
    assert customer_app.get("/api/cart/coupon/").json["code"] == "SAVE10"


def test_cancelling_an_order_gives_its_use_back(customer_app, make_coupon, fill_cart, coupon_state, checkout_body):
    coupon = make_coupon("ONCE", usage_limit=1, per_customer_limit=1)
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "ONCE"})
    order = customer_app.post_json("/api/orders/checkout/", checkout_body, status=201).json
    customer_app.post(f"/api/orders/{order['id']}/cancel/", status=200)
    assert coupon_state(coupon["id"]) == (0, [(order["id"], customer_app.user_id, "1.00", True)])
    # Both the coupon's limit and the customer's are free again.
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "ONCE"}, status=200)
    again = customer_app.post_json("/api/orders/checkout/", checkout_body, status=201).json
    assert again["adjustments"] == [{"label": "Coupon ONCE (10% off)", "amount": "-1.00"}]
    assert coupon_state(coupon["id"])[0] == 1


def test_cancelling_an_order_without_a_coupon_changes_no_coupon(customer_app, make_coupon, fill_cart, coupon_state,
                                                                checkout_body):
    coupon = make_coupon("SAVE10")
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    used = customer_app.post_json("/api/orders/checkout/", checkout_body, status=201).json
    fill_cart(customer_app, ("10.00", 1))
    plain = customer_app.post_json("/api/orders/checkout/", checkout_body, status=201).json
    customer_app.post(f"/api/orders/{plain['id']}/cancel/", status=200)
    assert coupon_state(coupon["id"]) == (1, [(used["id"], customer_app.user_id, "1.00", False)])


def test_checkout_decides_on_the_pricing_its_order_carries(customer_app, admin_app, make_coupon, fill_cart,
                                                           coupon_state, checkout_body, register_extension):
    """A coupon that becomes usable between the cart's pricing and the validators (an admin acting in
    that instant, played here by an earlier validator) is not counted for an order priced without it."""
    coupon = make_coupon("LATE")
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "LATE"})
    admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {"active": False})

    def reactivate(request, cart):
        request.find_service(CouponService).update(coupon["id"], {"active": True})

    register_extension(CHECKOUT_VALIDATORS, reactivate, order=-1)
    response = customer_app.post_json("/api/orders/checkout/", checkout_body, status=409)
    assert response.json == {"detail": "Coupon LATE is not active."}
    assert coupon_state(coupon["id"]) == (0, [])
