"""No request content makes an orders endpoint answer 500: odd bodies, ids, queries and headers."""
import json

import pytest

ODD_BODIES = [
    None, {}, [], "text", 12, 1.5, True, {"shipping_address": None, "payment_method": None},
    {"shipping_address": ["1 Main St"], "payment_method": {"x": 1}},
    {"shipping_address": "\u0000", "payment_method": "\u0000"},
    {"shipping_address": "\ud7ff\U0001F600 Straße 1", "payment_method": "carte bancaire"},
    {"shipping_address": "x" * 100000, "payment_method": "card"},
    {"status": "shipped"}, {"status": None}, {"status": ["shipped"]},
    {"shipping_address": "1 Main St", "payment_method": "card", "extra": {"nested": [1, 2, {"deep": None}]}},
]
NO_BODY = object()


def send(app, method: str, path: str, body=NO_BODY, headers: dict | None = None):
    """Any method with any JSON body (None is JSON null), as the logged-in user of `app`."""
    extra = {} if body is NO_BODY else {"body": json.dumps(body).encode(), "content_type": "application/json"}
    response = app.app.request(path, method=method, expect_errors=True, **extra,
                               headers={"Authorization": f"Bearer {app.token}", **(headers or {})})
    assert response.status_int not in (401, 403, 415), response.text
    return response


ODD_IDS = ["0", "-1", "1.5", "abc", "99999999999999999999", "%00", "1e3", "2147483647", "2147483648"]


@pytest.fixture
def an_order(place_order):
    return place_order()["id"]


@pytest.mark.parametrize("body", ODD_BODIES)
@pytest.mark.parametrize("method, path", [
    ("POST", "/api/orders/checkout/"), ("PATCH", "/api/orders/{id}/update/"), ("POST", "/api/orders/{id}/cancel/"),
    ("POST", "/api/orders/{id}/pay/"), ("PATCH", "/api/orders/{id}/status/"),
])
def test_odd_bodies_are_never_a_500(customer_app, admin_app, an_order, method, path, body):
    app = admin_app if path.endswith("/status/") else customer_app
    response = send(app, method, path.format(id=an_order), body,
                    headers={"Idempotency-Key": "odd"} if method == "POST" else None)
    assert response.status_int < 500, response.text
    assert response.content_type == "application/json"


@pytest.mark.parametrize("order_id", ODD_IDS)
@pytest.mark.parametrize("method, path", [
    ("GET", "/api/orders/{id}/"), ("PATCH", "/api/orders/{id}/update/"), ("POST", "/api/orders/{id}/cancel/"),
    ("POST", "/api/orders/{id}/pay/"), ("PATCH", "/api/orders/{id}/status/"),
])
def test_odd_order_ids_are_never_a_500(admin_app, method, path, order_id):
    body = {"status": "shipped"} if path.endswith("/status/") else {"payment_method": "card"}
    response = send(admin_app, method, path.format(id=order_id), body if method == "PATCH" else NO_BODY)
    assert response.status_int in (400, 404), response.text


@pytest.mark.parametrize("query", [
    "page=0", "page=-1", "page=abc", "page=99999999999", "page_size=0", "page_size=1000", "status=PAID",
    "status=", "user=abc", "user=-1", "user=99999999999999", "page=1&page=2", "unknown=1",
])
def test_odd_list_queries_are_never_a_500(customer_app, admin_app, query):
    for app in (customer_app, admin_app):
        response = app.get(f"/api/orders/?{query}", expect_errors=True)
        assert response.status_int in (200, 400, 404), response.text


@pytest.mark.parametrize("key", ["ünïcödé-κλειδί", " spaced key ", "a" * 255, "\t"])
def test_odd_idempotency_keys_are_never_a_500(customer_app, place_order, key):
    order = place_order()
    response = customer_app.post(f"/api/orders/{order['id']}/pay/", headers={"Idempotency-Key": key},
                                 expect_errors=True)
    assert response.status_int in (200, 400), response.text
