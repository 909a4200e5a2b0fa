"""Real concurrency: customers checking out at the same moment with one coupon, over HTTP against the
in-process server (`live_server`), each request its own connection and transaction, committing for real.

The chosen behaviour: the checkout that counts the last use gets the discount; every other one is
refused with a 409 saying the usage limit is reached, and changes nothing (its cart keeps its lines and
its code, which the customer may remove to check out at the full price).
"""
import pytest

from shopcore_coupons.services import CouponService

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CUSTOMERS = 10


@pytest.fixture
def racers(live_server, make_committed_user, make_committed_product, token_for):
    """`racers(code)`: CUSTOMERS customers, each with one 20.00 lamp and `code` on their cart; their tokens."""

    def make(code: str) -> tuple[int, list[str]]:
        lamp = make_committed_product(name="Lamp", price="20.00", stock=100)
        tokens = []
        for index in range(CUSTOMERS):
            token = token_for(make_committed_user(f"racer{index}"))["access"]
            assert live_server.request("POST", "/api/cart/items/", token, {"product": lamp, "quantity": 1})[0] == 201
            assert live_server.request("POST", "/api/cart/coupon/", token, {"code": code})[0] == 200
            tokens.append(token)
        return lamp, tokens

    return make


def test_a_coupon_with_one_use_and_ten_simultaneous_checkouts_gives_one_discounted_order(
        live_server, racers, make_committed_request, make_committed_user, token_for, run_together, checkout_body):
    with make_committed_request() as request:
        coupon = request.find_service(CouponService).create(
            {"code": "ONLYONE", "kind": "fixed", "value": "5.00", "usage_limit": 1})
    lamp, tokens = racers("ONLYONE")

    results = run_together(CUSTOMERS, lambda i: live_server.request(
        "POST", "/api/orders/checkout/", tokens[i], checkout_body))

    assert not [result for result in results if isinstance(result, Exception)]
    assert sorted(status for status, _body, _headers in results) == [201] + [409] * (CUSTOMERS - 1)
    (order,) = [body for status, body, _headers in results if status == 201]
    assert order["adjustments"] == [{"label": "Coupon ONLYONE (5.00 off)", "amount": "-5.00"}]
    assert (order["subtotal"], order["total_price"]) == ("20.00", "15.00")
    assert {body["detail"] for status, body, _headers in results if status == 409} == {
        "Coupon ONLYONE has reached its usage limit."}

    admin = token_for(make_committed_user("boss", is_admin=True))["access"]
    orders = live_server.request("GET", "/api/orders/?page_size=100", admin)[1]["results"]
    assert [o["id"] for o in orders if o["adjustments"]] == [order["id"]]
    assert len(orders) == 1
    coupon_now = live_server.request("GET", f"/api/coupons/{coupon['id']}/", admin)[1]
    assert coupon_now["uses"] == 1
    with make_committed_request() as request:
        assert [r["order"] for r in request.find_service(CouponService).redemptions(coupon["id"])] == [order["id"]]
    assert live_server.request("GET", f"/api/products/{lamp}/", admin)[1]["stock"] == 100 - 1

    # A refused customer's cart is as it was; without the code they check out at the full price.
    loser = tokens[[status for status, _b, _h in results].index(409)]
    cart = live_server.request("GET", "/api/cart/", loser)[1]
    assert ([(i["product"], i["quantity"]) for i in cart["items"]], cart["adjustments"]) == ([(lamp, 1)], [])
    assert live_server.request("GET", "/api/cart/coupon/", loser)[1]["code"] == "ONLYONE"
    assert live_server.request("DELETE", "/api/cart/coupon/", loser)[0] == 204
    status, full_price, _headers = live_server.request("POST", "/api/orders/checkout/", loser, checkout_body)
    assert (status, full_price["adjustments"], full_price["total_price"]) == (201, [], "20.00")


def test_a_limit_of_three_gives_exactly_three_discounted_orders(
        live_server, racers, make_committed_request, run_together, checkout_body):
    with make_committed_request() as request:
        coupon = request.find_service(CouponService).create(
            {"code": "THREE", "kind": "percentage", "value": "50.00", "usage_limit": 3})
    _lamp, tokens = racers("THREE")

    results = run_together(CUSTOMERS, lambda i: live_server.request(
        "POST", "/api/orders/checkout/", tokens[i], checkout_body))

    assert sorted(status for status, _body, _headers in results) == [201] * 3 + [409] * (CUSTOMERS - 3)
    assert {body["total_price"] for status, body, _headers in results if status == 201} == {"10.00"}
    with make_committed_request() as request:
        service = request.find_service(CouponService)
        assert service.get(coupon["id"])["uses"] == 3
        assert len(service.redemptions(coupon["id"])) == 3
