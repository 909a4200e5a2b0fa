"""Broken object-level authorization: every bearer-protected operation of the merged spec, called with a
second customer's token against the first customer's objects, is refused (403 or 404), changes nothing
of theirs, and shows nothing of theirs.

An operation with an `{id}` takes the id of each of the victim's objects of its collection (or of the
shop's, for the admin-only catalog); the same request by the owner then shows the request itself was
sound (not a 400 or a 404), so the refusal was about who asked. An operation without an id acts on the
caller's own data: the victim's data, read through the victim's own token, is the same before and after,
and no answer to the intruder names it. A new operation with an id of an unknown collection fails here
until `fill_shop` (conftest) makes objects of it.
"""
from __future__ import annotations

import json

import pytest

VICTIM_ADDRESS = "1 Victim Lane, Springfield"
VICTIM_PRODUCT = "Victim's secret lamp"
# Collections whose objects belong to a customer; the catalog's belong to the shop (admins change them).
OWNED = ("/api/orders/", "/api/cart/items/")
KNOWN_SHARED = ("/api/products/", "/api/categories/")


@pytest.fixture(scope="module")
def people(module_shop, fill):
    """The victim (a customer with orders and a cart line of their own), the intruder (another customer,
    with objects too) and the shop's objects, made once for the module."""
    shop = module_shop
    victim = shop.user("victimuser")
    intruder = shop.user("intruderuser")
    shop_objects = fill(shop, intruder)  # the intruder has objects of every kind too
    # The victim's own objects: of the collections this suite knows, made to be recognised in an answer;
    # of any other collection, made through its POST (by the victim, or else by an admin).
    owned = {name: ids for name, ids in fill(shop, victim).ids.items() if name not in OWNED + KNOWN_SHARED}
    if shop.has("checkout", "payOrder"):
        owned["/api/orders/"] = [shop.order(victim, address=VICTIM_ADDRESS, product_name=VICTIM_PRODUCT),
                                 shop.order(victim, paid=True, address=VICTIM_ADDRESS)]
    if shop.has("addCartItem"):
        owned["/api/cart/items/"] = [shop.cart_line(victim, shop.product(VICTIM_PRODUCT), 2)]
    shared = {name: ids for name, ids in shop_objects.ids.items() if name in KNOWN_SHARED}
    return victim, intruder, owned, shared


def snapshot(shop, victim) -> dict:
    """Everything of the victim's that the victim can read, through the victim's own token."""
    seen = {}
    for operation_id, url in (("authUser", "/api/auth/user/"), ("showCart", "/api/cart/"),
                              ("listOrders", "/api/orders/?page_size=100")):
        if shop.has(operation_id):
            response = victim.client.request("GET", url)
            assert response.status_int == 200, (url, response.text)
            seen[url] = response.json
    for order in seen.get("/api/orders/?page_size=100", {}).get("results", []):
        seen[f"/api/orders/{order['id']}/"] = victim.client.request("GET", f"/api/orders/{order['id']}/").json
    return seen


def assert_names_nothing_of(victim, response) -> None:
    for secret in (victim.username, f"{victim.username}@example.com", VICTIM_ADDRESS,
                   json.dumps(VICTIM_PRODUCT)[1:-1]):
        assert secret not in response.text, f"the intruder was shown {secret!r}: {response.text[:500]}"


def test_another_customer_can_neither_read_nor_change_a_customers_objects(
        secured_operation, people, module_shop, module_savepoint, examples, resource):
    operation = secured_operation
    victim, intruder, owned, shared = people
    before = snapshot(module_shop, victim)
    body = examples.body(operation.operation_id)
    if operation.path_parameters:
        collection = resource(operation.path)
        assert collection in owned or collection in shared, (
            f"{operation}: no objects of {collection} to attack; make some in conftest.fill_shop")
        targets = owned.get(collection) or shared[collection]
        for object_id in targets:
            url = operation.url(id=object_id)
            attempt = intruder.client.request(operation.method, url, body)
            if collection in owned:
                assert attempt.status_int in (403, 404), (operation, object_id, attempt.status_int, attempt.text)
            else:  # the shop's objects: only admins change them
                assert attempt.status_int == 403, (operation, object_id, attempt.status_int, attempt.text)
            assert_names_nothing_of(victim, attempt)
            assert snapshot(module_shop, victim) == before, f"{operation} changed the victim's data"
        if collection in owned:
            # The owner's own request goes through (or is refused for a reason of the shop, such as a
            # state that does not allow it, or an admin-only operation): it was sound, only not theirs.
            control = victim.client.request(operation.method, operation.url(id=targets[0]), body)
            assert control.status_int not in (400, 404), (operation, control.status_int, control.text)
    else:
        queries = [""]
        if any(parameter.get("name") == "user" for parameter in operation.spec.get("parameters", [])):
            queries.append(f"?user={victim.user_id}")  # an admin-only filter, tried by a customer
        for query in queries:
            attempt = intruder.client.request(operation.method, operation.path + query, body)
            assert attempt.status_int < 500, (operation, attempt.text)
            assert_names_nothing_of(victim, attempt)
        assert snapshot(module_shop, victim) == before, f"{operation} as another customer changed the victim's data"
