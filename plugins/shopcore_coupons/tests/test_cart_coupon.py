"""A customer's code: applying and removing it, why a code is refused, and the cart's discount line."""
import datetime

import pytest

PAST = "2020-01-01T00:00:00Z"


def cart(app) -> dict:
    return app.get("/api/cart/").json


def totals(app) -> tuple:
    body = cart(app)
    return body["subtotal"], body["adjustments"], body["total_price"]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_cart_coupon_needs_a_logged_in_customer(testapp, method):
    kwargs = {"json": {"code": "SAVE10"}} if method == "POST" else {}
    response = testapp.request("/api/cart/coupon/", method=method, status=401, **kwargs)
    assert response.json == {"detail": "Authentication credentials were not provided or are invalid."}


# --- applying and removing ------------------------------------------------------------------------------

def test_applying_a_code_shows_it_and_the_cart_its_discount_line(customer_app, make_coupon, fill_cart):
    make_coupon("SAVE10", kind="percentage", value="10.00", expires_at="2031-01-01T00:00:00Z")
    fill_cart(customer_app, ("12.50", 2))
    applied = customer_app.post_json("/api/cart/coupon/", {"code": " save10 "}, status=200).json
    assert applied == {"code": "SAVE10", "label": "Coupon SAVE10 (10% off)", "kind": "percentage",
                       "value": "10.00", "minimum_total": None, "expires_at": "2031-01-01T00:00:00+00:00"}
    assert customer_app.get("/api/cart/coupon/").json == applied
    assert totals(customer_app) == ("25.00", [{"label": "Coupon SAVE10 (10% off)", "amount": "-2.50"}], "22.50")


def test_removing_the_code_removes_the_line_and_is_idempotent(customer_app, make_coupon, fill_cart):
    make_coupon("SAVE10")
    fill_cart(customer_app, ("20.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    customer_app.delete("/api/cart/coupon/", status=204)
    assert totals(customer_app) == ("20.00", [], "20.00")
    assert customer_app.get("/api/cart/coupon/", status=404).json == {"detail": "No coupon is applied to your cart."}
    customer_app.delete("/api/cart/coupon/", status=204)


def test_a_second_code_replaces_the_first(customer_app, make_coupon, fill_cart):
    make_coupon("SAVE10")
    make_coupon("FIVEOFF", kind="fixed", value="5.00")
    fill_cart(customer_app, ("20.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    customer_app.post_json("/api/cart/coupon/", {"code": "FIVEOFF"})
    assert totals(customer_app) == ("20.00", [{"label": "Coupon FIVEOFF (5.00 off)", "amount": "-5.00"}], "15.00")


def test_a_code_is_on_one_customers_cart_only(customer_app, other_customer_app, make_coupon, fill_cart):
    make_coupon("SAVE10")
    fill_cart(customer_app, ("10.00", 1))
    fill_cart(other_customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    assert totals(other_customer_app) == ("10.00", [], "10.00")
    other_customer_app.get("/api/cart/coupon/", status=404)


def test_deleting_a_coupon_takes_it_off_every_cart(customer_app, admin_app, make_coupon, fill_cart):
    coupon = make_coupon("SAVE10")
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    admin_app.delete(f"/api/coupons/{coupon['id']}/", status=204)
    assert totals(customer_app) == ("10.00", [], "10.00")
    customer_app.get("/api/cart/coupon/", status=404)


# --- why a code is refused ---------------------------------------------------------------------------------

NOT_USABLE = "This code does not exist or can no longer be used."
NOT_USABLE_ANSWER = (400, {"detail": f"code: {NOT_USABLE}", "errors": [{"field": "code", "message": NOT_USABLE}]})


def answer(app, code: str) -> tuple:
    response = app.post_json("/api/cart/coupon/", {"code": code}, expect_errors=True)
    return response.status_int, response.json


def test_unknown_inactive_expired_and_used_up_codes_get_one_answer(customer_app, other_customer_app, make_coupon,
                                                                    fill_cart, checkout_body):
    """Issue 21, point 7: a 400 naming the unknown code and 409s saying "not active" or "expired at"
    told a guesser which codes exist."""
    make_coupon("EXPIRED1", expires_at=PAST)
    make_coupon("INACTIVE1", active=False)
    make_coupon("ONCE", usage_limit=1)
    fill_cart(other_customer_app, ("10.00", 1))
    other_customer_app.post_json("/api/cart/coupon/", {"code": "ONCE"}, status=200)
    other_customer_app.post_json("/api/orders/checkout/", checkout_body, status=201)

    answers = {code: answer(customer_app, code) for code in ("NOPE1", "EXPIRED1", "INACTIVE1", "ONCE")}

    assert answers == dict.fromkeys(answers, NOT_USABLE_ANSWER)
    customer_app.get("/api/cart/coupon/", status=404)


@pytest.mark.parametrize("body, field", [
    ({}, "code"),
    ({"code": "ab"}, "code"),
    ({"code": "SAVE 10"}, "code"),
    ({"code": 10}, "code"),
    ({"code": "SAVE10", "extra": 1}, "extra"),
])
def test_a_malformed_body_is_a_400_naming_the_field(customer_app, body, field):
    response = customer_app.post_json("/api/cart/coupon/", body, status=400)
    assert [error["field"] for error in response.json["errors"]] == [field]


def test_a_code_the_customer_has_used_up_is_a_409(customer_app, other_customer_app, make_coupon, fill_cart,
                                                  checkout_body):
    make_coupon("TWICE", per_customer_limit=2)
    for _ in range(2):
        fill_cart(customer_app, ("10.00", 1))
        customer_app.post_json("/api/cart/coupon/", {"code": "TWICE"})
        customer_app.post_json("/api/orders/checkout/", checkout_body, status=201)
    response = customer_app.post_json("/api/cart/coupon/", {"code": "TWICE"}, status=409)
    assert response.json["detail"] == "Coupon TWICE can be used 2 times per customer, and you have used it 2 times."
    other_customer_app.post_json("/api/cart/coupon/", {"code": "TWICE"}, status=200)


# --- the discount line: exact to the cent, never more than the goods ------------------------------------

@pytest.mark.parametrize("kind, value, lines, subtotal, discount, total", [
    ("percentage", "15.00", [("3.33", 3)], "9.99", "-1.50", "8.49"),         # 1.4985 rounds half up
    ("percentage", "12.50", [("0.20", 1)], "0.20", "-0.03", "0.17"),         # 0.025 rounds half up
    ("percentage", "33.33", [("10.00", 1), ("0.01", 1)], "10.01", "-3.34", "6.67"),
    ("percentage", "100.00", [("19.99", 2)], "39.98", "-39.98", "0.00"),
    ("fixed", "5.00", [("12.50", 2)], "25.00", "-5.00", "20.00"),
    ("fixed", "50.00", [("12.50", 2)], "25.00", "-25.00", "0.00"),           # capped at the goods
])
def test_the_discount_is_exact_to_the_cent_and_never_more_than_the_goods(
        customer_app, make_coupon, fill_cart, kind, value, lines, subtotal, discount, total):
    make_coupon("DEAL", kind=kind, value=value)
    fill_cart(customer_app, *lines)
    customer_app.post_json("/api/cart/coupon/", {"code": "DEAL"})
    assert totals(customer_app)[0] == subtotal
    assert [a["amount"] for a in cart(customer_app)["adjustments"]] == [discount]
    assert totals(customer_app)[2] == total


def test_the_line_follows_the_cart(customer_app, make_coupon, fill_cart):
    make_coupon("SAVE10")
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    assert totals(customer_app) == ("0.00", [], "0.00")        # an empty cart has nothing to discount
    (lamp,) = fill_cart(customer_app, ("7.00", 1))
    assert cart(customer_app)["adjustments"][0]["amount"] == "-0.70"
    item = cart(customer_app)["items"][0]["id"]
    customer_app.patch_json(f"/api/cart/items/{item}/", {"quantity": 3})
    assert totals(customer_app) == ("21.00", [{"label": "Coupon SAVE10 (10% off)", "amount": "-2.10"}], "18.90")


def test_below_the_minimum_the_code_stays_on_but_gives_no_line(customer_app, make_coupon, fill_cart):
    make_coupon("BIG", kind="fixed", value="10.00", minimum_total="50.00")
    fill_cart(customer_app, ("49.99", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "BIG"}, status=200)
    assert totals(customer_app) == ("49.99", [], "49.99")
    fill_cart(customer_app, ("0.01", 1))
    assert totals(customer_app) == ("50.00", [{"label": "Coupon BIG (10.00 off)", "amount": "-10.00"}], "40.00")


def test_a_code_that_expires_after_being_applied_loses_its_line(customer_app, admin_app, make_coupon, fill_cart):
    coupon = make_coupon("SAVE10")
    fill_cart(customer_app, ("10.00", 1))
    customer_app.post_json("/api/cart/coupon/", {"code": "SAVE10"})
    soon_past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)).isoformat()
    admin_app.patch_json(f"/api/coupons/{coupon['id']}/", {"expires_at": soon_past})
    assert totals(customer_app) == ("10.00", [], "10.00")
    assert customer_app.get("/api/cart/coupon/").json["code"] == "SAVE10"
