"""No request content makes a cart endpoint answer 500: odd bodies and ids."""
import json

import pytest

ODD_BODIES = [
    None, {}, [], "text", 12, 1.5, True, {"product": None, "quantity": None},
    {"product": "1", "quantity": "1"}, {"product": [1], "quantity": {"n": 1}}, {"product": 1e30, "quantity": 1},
    {"product": 2 ** 63, "quantity": 2 ** 63}, {"product": -(2 ** 63), "quantity": 1},
    {"product": 1, "quantity": 1, "extra": {"nested": [None]}}, {"quantity": "\u0000"},
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
def an_item(customer_app, make_product):
    product = make_product(stock=5)
    return customer_app.post_json("/api/cart/items/", {"product": product, "quantity": 1}).json["id"]


@pytest.mark.parametrize("body", ODD_BODIES)
@pytest.mark.parametrize("method, path", [("POST", "/api/cart/items/"), ("PATCH", "/api/cart/items/{id}/")])
def test_odd_bodies_are_never_a_500(customer_app, an_item, method, path, body):
    response = send(customer_app, method, path.format(id=an_item), body)
    assert response.status_int in (400, 404, 409), response.text
    assert response.content_type == "application/json"


@pytest.mark.parametrize("item_id", ODD_IDS)
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_odd_item_ids_are_never_a_500(customer_app, method, item_id):
    response = send(customer_app, method, f"/api/cart/items/{item_id}/",
                    {"quantity": 1} if method == "PATCH" else NO_BODY)
    assert response.status_int in (400, 404), response.text
