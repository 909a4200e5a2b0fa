"""Idempotency-Key on checkout and pay (the core's `shopcore.idempotency`): replay, a different request (422),
in flight (409), per user, 24 hours."""
import datetime
import json

import pytest
from pyramid.request import Request
from sqlalchemy import func, select, update

from shopcore.clock import utcnow
from shopcore.idempotency import ABANDONED_AFTER, KEY_LIFETIME, IdempotencyKey, request_fingerprint
from shopcore_orders.models import Order

CHECKOUT = "/api/orders/checkout/"


@pytest.fixture
def filled_cart(customer_app, make_product, add_to_cart):
    """`filled_cart(app=customer_app)` puts a lamp (stock 10) in the cart; returns the product id."""

    def fill(app=None, quantity: int = 1) -> int:
        product = make_product(name="Desk lamp", price="12.50", stock=10)
        add_to_cart((app or customer_app).user_id, product, quantity)
        return product

    return fill


@pytest.fixture
def count_orders(make_request):
    def count() -> int:
        with make_request() as request:
            return request.dbsession.scalar(select(func.count()).select_from(Order))

    return count


@pytest.fixture
def age_keys(make_request):
    """`age_keys(user_id, by, key=None)`: make a user's stored keys (or one of them) look `by` older."""

    def age(user_id: int, by: datetime.timedelta, key: str | None = None) -> None:
        statement = update(IdempotencyKey).where(IdempotencyKey.user_id == user_id)
        if key is not None:
            statement = statement.where(IdempotencyKey.key == key)
        with make_request() as request:
            request.dbsession.execute(statement.values(created_at=utcnow() - by))

    return age


def with_key(key: str) -> dict:
    return {"Idempotency-Key": key}


def test_the_same_key_and_body_replays_the_first_response(customer_app, filled_cart, shop_details, stock_of,
                                                          count_orders):
    lamp = filled_cart(quantity=2)
    first = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("order-1"), status=201)
    assert "Idempotent-Replayed" not in first.headers
    filled_cart()  # a retry must not check out what is in the cart now
    again = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("order-1"), status=201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json and again.body == first.body
    assert count_orders() == 1 and stock_of(lamp) == 8


def test_the_same_body_written_differently_is_the_same_request(customer_app, filled_cart, count_orders):
    filled_cart()
    customer_app.post(CHECKOUT, '{"shipping_address": "1 Main St", "payment_method": "card"}',
                      content_type="application/json", headers=with_key("k"), status=201)
    replay = customer_app.post(CHECKOUT, '{"payment_method":"card",\n "shipping_address":"1 Main St"}',
                               content_type="application/json", headers=with_key("k"), status=201)
    assert replay.headers["Idempotent-Replayed"] == "true" and count_orders() == 1


def test_a_replay_is_the_first_response_even_after_the_order_moved_on(customer_app, filled_cart, shop_details):
    filled_cart()
    placed = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201).json
    customer_app.post(f"/api/orders/{placed['id']}/pay/", status=200)
    assert customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201).json == placed


def test_the_same_key_with_another_body_is_a_422(customer_app, filled_cart, shop_details, count_orders):
    filled_cart()
    customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201)
    filled_cart()
    response = customer_app.post_json(CHECKOUT, {**shop_details, "shipping_address": "2 Other Rd"},
                                      headers=with_key("k"), status=422)
    assert response.json == {
        "detail": "This Idempotency-Key was already used with a different request; use a new key for a new request.",
        "errors": [{"field": "Idempotency-Key", "message": "Already used with a different request."}]}
    assert count_orders() == 1


def test_the_same_key_on_another_endpoint_is_a_422(customer_app, filled_cart, shop_details):
    filled_cart()
    order = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201).json
    customer_app.post(f"/api/orders/{order['id']}/pay/", headers=with_key("k"), status=422)
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "pending"


def test_keys_belong_to_one_user(customer_app, other_customer_app, filled_cart, shop_details, count_orders):
    filled_cart()
    filled_cart(app=other_customer_app)
    mine = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("shared"), status=201)
    theirs = other_customer_app.post_json(CHECKOUT, shop_details, headers=with_key("shared"), status=201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json["id"] != mine.json["id"] and theirs.json["user"] == other_customer_app.user_id
    assert count_orders() == 2


def test_a_failed_request_keeps_nothing_and_its_key_runs_afresh(customer_app, filled_cart, shop_details):
    customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=400)  # empty cart
    filled_cart()
    response = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201)
    assert "Idempotent-Replayed" not in response.headers


def test_keys_are_kept_24_hours(customer_app, filled_cart, shop_details, age_keys, count_orders):
    filled_cart()
    first = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201).json
    filled_cart()
    age_keys(customer_app.user_id, KEY_LIFETIME - datetime.timedelta(minutes=1))
    assert customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201).json == first
    age_keys(customer_app.user_id, KEY_LIFETIME + datetime.timedelta(minutes=1))
    fresh = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201)
    assert "Idempotent-Replayed" not in fresh.headers and fresh.json["id"] != first["id"]
    assert count_orders() == 2


def started_claim(make_request, user_id: int, key: str, path: str, body: dict, age=datetime.timedelta(0)):
    """What a request still running with this key leaves in the store."""
    blank = Request.blank(path, method="POST", body=json.dumps(body).encode(), content_type="application/json")
    with make_request() as request:
        request.dbsession.add(IdempotencyKey(user_id=user_id, key=key, fingerprint=request_fingerprint(blank),
                                             state="started", created_at=utcnow() - age))


def test_a_request_while_the_first_is_running_is_a_409(customer_app, filled_cart, shop_details, make_request,
                                                       count_orders):
    filled_cart()
    started_claim(make_request, customer_app.user_id, "k", CHECKOUT, shop_details)
    response = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=409)
    assert response.json == {
        "detail": "A request with this Idempotency-Key is still being processed; retry once it has finished.",
        "errors": [{"field": "Idempotency-Key", "message": "A request with this key is in progress."}]}
    assert count_orders() == 0


def test_a_claim_left_by_a_crashed_request_is_taken_over(customer_app, filled_cart, shop_details, make_request):
    filled_cart()
    started_claim(make_request, customer_app.user_id, "k", CHECKOUT, shop_details,
                  age=ABANDONED_AFTER + datetime.timedelta(seconds=1))
    customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201)
    assert customer_app.post_json(CHECKOUT, shop_details, headers=with_key("k"), status=201).headers[
        "Idempotent-Replayed"] == "true"


def test_pay_replays_too(customer_app, filled_cart, shop_details, order_events):
    filled_cart()
    order = customer_app.post_json(CHECKOUT, shop_details, status=201).json
    pay = f"/api/orders/{order['id']}/pay/"
    first = customer_app.post(pay, headers=with_key("pay-1"), status=200)
    again = customer_app.post(pay, headers=with_key("pay-1"), status=200)
    assert again.json == first.json == {"detail": "Payment successful."}
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [type(event).__name__ for event in order_events] == ["OrderPlaced", "OrderPaid"]
    # without the key a second payment is what it is: a transition from paid
    assert customer_app.post(pay, status=409).json["detail"] == f"Order {order['id']} is paid; it cannot become paid."


@pytest.mark.parametrize("key", ["x" * 256, ""])
def test_a_key_must_be_1_to_255_characters(customer_app, filled_cart, shop_details, key):
    filled_cart()
    errors = customer_app.post_json(CHECKOUT, shop_details, headers=with_key(key), status=400).json["errors"]
    assert [error["field"] for error in errors] == ["Idempotency-Key"]


def test_a_key_with_control_characters_is_a_400(customer_app, filled_cart, shop_details):
    filled_cart()
    response = customer_app.post_json(CHECKOUT, shop_details, headers=with_key("abc\x01"), status=400)
    assert response.json["errors"] == [{"field": "Idempotency-Key", "message": "Control characters are not allowed."}]


def test_pay_ignores_a_body_it_does_not_take_but_a_different_one_is_another_request(customer_app, filled_cart,
                                                                                    shop_details):
    filled_cart()
    order = customer_app.post_json(CHECKOUT, shop_details, status=201).json
    pay = f"/api/orders/{order['id']}/pay/"
    customer_app.post(pay, "{not json", content_type="application/json", headers=with_key("p"), status=200)
    replay = customer_app.post(pay, "{not json", content_type="application/json", headers=with_key("p"), status=200)
    assert replay.headers["Idempotent-Replayed"] == "true"
    customer_app.post(pay, "{other", content_type="application/json", headers=with_key("p"), status=422)


def test_the_admin_command_purges_every_users_expired_keys(customer_app, other_customer_app, filled_cart,
                                                           shop_details, age_keys, shopcore_registry, make_request,
                                                           capsys):
    import transaction
    from pyramid.request import apply_request_extensions

    from shopcore.idempotency import purge_idempotency_keys

    for app, key in ((customer_app, "old"), (other_customer_app, "old"), (customer_app, "new")):
        filled_cart(app=app)
        app.post_json(CHECKOUT, shop_details, headers=with_key(key), status=201)
    for app in (customer_app, other_customer_app):
        age_keys(app.user_id, KEY_LIFETIME + datetime.timedelta(hours=1), key="old")
    script = Request.blank("/")  # as `shopcore-admin` runs commands: a request with its own manager
    script.registry = shopcore_registry
    apply_request_extensions(script)
    script.tm = transaction.TransactionManager(explicit=True)

    assert purge_idempotency_keys({"request": script}, None) == 0
    assert capsys.readouterr().out == "purge-idempotency-keys: 2 expired key(s) removed\n"
    with make_request() as request:
        left = request.dbsession.execute(select(IdempotencyKey.user_id, IdempotencyKey.key)).all()
    assert [tuple(row) for row in left] == [(customer_app.user_id, "new")]
