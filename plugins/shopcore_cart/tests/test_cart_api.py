"""The cart endpoints: every row of the API, each validation error, other customers' lines, availability."""
from decimal import Decimal
from unittest.mock import ANY

import pytest

from shopcore_cart.api import PRICE_ADJUSTMENTS, Adjustment
from shopcore_catalog.api import CatalogService

def goods_totals(subtotal: str) -> dict:
    """The `totals` of a cart with neither shipping nor tax offered, nor adjustments."""
    return {"subtotal": subtotal, "discount": "0.00", "fees": "0.00", "shipping": "0.00", "tax": "0.00",
            "tax_included": "0.00", "total": subtotal}


EMPTY_CART = {"items": [], "adjustments": [], "total_items": 0, "subtotal": "0.00", "total_price": "0.00",
              "totals": goods_totals("0.00"), "shipping_method": None}


def line(item_id, product, name, unit_price, quantity, subtotal, *, available=True, quantity_available=10,
         sku=ANY, options=None):
    # Issue 16: a line also names its variant, the variant's SKU and its options ({} without options).
    return {"id": item_id, "product": product, "product_name": name, "unit_price": unit_price,
            "quantity": quantity, "subtotal": subtotal, "available": available,
            "quantity_available": quantity_available, "variant": ANY, "sku": sku,
            "options": {} if options is None and sku is not None else options}


@pytest.fixture
def lamp(make_product):
    return make_product(name="Desk lamp", price="12.50", stock=10)


@pytest.fixture
def chair(make_product):
    return make_product(name="Chair", price="40.00", stock=3)


@pytest.fixture
def catalog_change(make_request):
    """`catalog_change(product_id, **fields)`: an admin's edit, through the catalog service."""

    def change(product_id: int, **fields) -> None:
        with make_request() as request:
            request.find_service(CatalogService).update_product(product_id, fields)

    return change


# --- authentication -------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/api/cart/"), ("DELETE", "/api/cart/"), ("POST", "/api/cart/items/"),
    ("PATCH", "/api/cart/items/1/"), ("DELETE", "/api/cart/items/1/"),
])
def test_every_endpoint_needs_a_logged_in_customer(testapp, method, path):
    body = {"product": 1, "quantity": 1} if method in ("POST", "PATCH") else None
    response = testapp.request(path, method=method, json=body, status=401) if body else \
        testapp.request(path, method=method, status=401)
    assert response.json == {"detail": "Authentication credentials were not provided or are invalid."}


# --- the rows of the API --------------------------------------------------------------------------

def test_an_empty_cart_is_a_200_with_no_items(customer_app):
    assert customer_app.get("/api/cart/", status=200).json == EMPTY_CART


def test_adding_a_product_creates_a_line(customer_app, lamp):
    response = customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 2}, status=201)
    item_id = response.json["id"]
    assert response.json == line(item_id, lamp, "Desk lamp", "12.50", 2, "25.00")


def test_adding_a_product_already_in_the_cart_adds_to_its_line(customer_app, lamp):
    first = customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 2}, status=201).json
    again = customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 3}, status=200).json
    assert again == line(first["id"], lamp, "Desk lamp", "12.50", 5, "62.50")
    assert len(customer_app.get("/api/cart/").json["items"]) == 1


def test_the_cart_shows_current_prices_and_totals(customer_app, lamp, chair, catalog_change):
    lamp_line = customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 2}).json["id"]
    chair_line = customer_app.post_json("/api/cart/items/", {"product": chair, "quantity": 1}).json["id"]
    catalog_change(lamp, price="11.25")
    assert customer_app.get("/api/cart/").json == {
        "items": [line(lamp_line, lamp, "Desk lamp", "11.25", 2, "22.50"),
                  line(chair_line, chair, "Chair", "40.00", 1, "40.00", quantity_available=3)],
        "adjustments": [],
        "total_items": 3,
        "subtotal": "62.50",
        "total_price": "62.50",
        "totals": goods_totals("62.50"),
        "shipping_method": None,
    }


def test_patch_sets_the_quantity(customer_app, lamp):
    item_id = customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 2}).json["id"]
    response = customer_app.patch_json(f"/api/cart/items/{item_id}/", {"quantity": 7}, status=200)
    assert response.json == line(item_id, lamp, "Desk lamp", "12.50", 7, "87.50")
    assert customer_app.get("/api/cart/").json["total_items"] == 7


def test_delete_removes_one_line(customer_app, lamp, chair):
    lamp_line = customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 1}).json["id"]
    customer_app.post_json("/api/cart/items/", {"product": chair, "quantity": 1})
    response = customer_app.delete(f"/api/cart/items/{lamp_line}/", status=204)
    assert response.body == b""
    assert [item["product"] for item in customer_app.get("/api/cart/").json["items"]] == [chair]
    customer_app.delete(f"/api/cart/items/{lamp_line}/", status=404)


def test_delete_cart_empties_it(customer_app, lamp, chair):
    customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 1})
    customer_app.post_json("/api/cart/items/", {"product": chair, "quantity": 1})
    assert customer_app.delete("/api/cart/", status=204).body == b""
    assert customer_app.get("/api/cart/").json == EMPTY_CART
    customer_app.delete("/api/cart/", status=204)  # an empty cart empties without complaint


# --- validation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("quantity, messages", [
    (0, ["Ensure this value is greater than or equal to 1."]),
    (-3, ["Ensure this value is greater than or equal to 1."]),
    ("2", ["A valid integer is required."]),
    (1.5, ["A valid integer is required."]),
    (None, ["This field may not be null."]),
    (True, ["A valid integer is required."]),
    (1001, ["Ensure this value is less than or equal to 1000."]),
])
def test_a_bad_quantity_is_a_400_naming_the_field(customer_app, lamp, quantity, messages):
    errors = [{"field": "quantity", "message": message} for message in messages]
    response = customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": quantity}, status=400)
    assert response.json == {"detail": "Invalid request: " + "; ".join(f"quantity: {m}" for m in messages),
                             "errors": errors}
    item_id = customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 1}).json["id"]
    assert customer_app.patch_json(f"/api/cart/items/{item_id}/", {"quantity": quantity}, status=400).json[
        "errors"] == errors


@pytest.mark.parametrize("body, field, message", [
    ({"quantity": 1}, "product", "This field is required."),
    ({"product": 1}, "quantity", "This field is required."),
    ({"product": "one", "quantity": 1}, "product", "A valid integer is required."),
    ({"product": 0, "quantity": 1}, "product", "Ensure this value is greater than or equal to 1."),
    ({"product": 2 ** 40, "quantity": 1}, "product", "Ensure this value is less than or equal to 2147483647."),
    ({"product": 1, "quantity": 1, "price": "0.01"}, "price", "Unknown field."),
])
def test_a_bad_body_is_a_400_naming_the_field(customer_app, body, field, message):
    response = customer_app.post_json("/api/cart/items/", body, status=400)
    assert response.json["errors"] == [{"field": field, "message": message}]


def test_malformed_json_is_a_400(customer_app):
    response = customer_app.post("/api/cart/items/", "{not json", content_type="application/json", status=400)
    assert response.json["errors"] == [{"field": "body", "message": "Malformed JSON."}]


def test_an_unknown_product_is_a_400_naming_it(customer_app):
    response = customer_app.post_json("/api/cart/items/", {"product": 999999, "quantity": 1}, status=400)
    assert response.json == {"detail": "product: Product 999999 does not exist.",
                             "errors": [{"field": "product", "message": "Product 999999 does not exist."}]}


def test_an_inactive_product_is_a_400(customer_app, make_product):
    hidden = make_product(name="Withdrawn", is_active=False)
    response = customer_app.post_json("/api/cart/items/", {"product": hidden, "quantity": 1}, status=400)
    assert response.json["errors"] == [{"field": "product", "message": f"Product {hidden} is not available."}]


def test_more_than_the_stock_is_a_409_naming_the_quantity(customer_app, chair):
    response = customer_app.post_json("/api/cart/items/", {"product": chair, "quantity": 4}, status=409)
    message = "Only 3 of 'Chair' in stock; 4 requested."
    assert response.json == {"detail": f"quantity: {message}", "errors": [{"field": "quantity", "message": message}]}
    assert customer_app.get("/api/cart/").json == EMPTY_CART


def test_adding_again_beyond_the_stock_is_a_409_and_keeps_the_line(customer_app, chair):
    item_id = customer_app.post_json("/api/cart/items/", {"product": chair, "quantity": 2}).json["id"]
    response = customer_app.post_json("/api/cart/items/", {"product": chair, "quantity": 2}, status=409)
    assert response.json["errors"] == [{"field": "quantity", "message": "Only 3 of 'Chair' in stock; 4 requested."}]
    assert customer_app.get("/api/cart/").json["items"][0]["quantity"] == 2
    assert customer_app.get("/api/cart/").json["items"][0]["id"] == item_id


def test_a_line_holds_at_most_1000(customer_app, make_product):
    plenty = make_product(name="Screws", price="0.05", stock=5000)
    customer_app.post_json("/api/cart/items/", {"product": plenty, "quantity": 999}, status=201)
    response = customer_app.post_json("/api/cart/items/", {"product": plenty, "quantity": 2}, status=400)
    assert response.json["errors"] == [{"field": "quantity",
                                        "message": "A cart line holds at most 1000; this would make 1001."}]


def test_patch_beyond_the_stock_is_a_409(customer_app, chair):
    item_id = customer_app.post_json("/api/cart/items/", {"product": chair, "quantity": 1}).json["id"]
    response = customer_app.patch_json(f"/api/cart/items/{item_id}/", {"quantity": 5}, status=409)
    assert response.json["errors"] == [{"field": "quantity", "message": "Only 3 of 'Chair' in stock; 5 requested."}]


def test_patch_of_a_deactivated_product_is_a_409(customer_app, chair, catalog_change):
    item_id = customer_app.post_json("/api/cart/items/", {"product": chair, "quantity": 1}).json["id"]
    catalog_change(chair, is_active=False)
    response = customer_app.patch_json(f"/api/cart/items/{item_id}/", {"quantity": 1}, status=409)
    assert response.json["errors"] == [{"field": "quantity",
                                        "message": "This product is no longer available; remove it from the cart."}]


@pytest.mark.parametrize("path", ["/api/cart/items/0/", "/api/cart/items/abc/", "/api/cart/items/99999999999/"])
def test_a_bad_item_id_is_a_400_naming_it(customer_app, path):
    response = customer_app.patch_json(path, {"quantity": 1}, status=400)
    assert response.json["errors"][0]["field"] == "id"
    customer_app.delete(path, status=400)


# --- another customer's lines ---------------------------------------------------------------------

def test_another_customers_line_is_a_404_for_patch_and_delete(customer_app, other_customer_app, lamp):
    theirs = other_customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 2}).json["id"]
    assert customer_app.patch_json(f"/api/cart/items/{theirs}/", {"quantity": 1}, status=404).json == \
        {"detail": "Cart item not found."}
    assert customer_app.delete(f"/api/cart/items/{theirs}/", status=404).json == {"detail": "Cart item not found."}
    assert customer_app.get("/api/cart/").json == EMPTY_CART
    customer_app.delete("/api/cart/", status=204)
    assert other_customer_app.get("/api/cart/").json["items"] == [
        line(theirs, lamp, "Desk lamp", "12.50", 2, "25.00")]


# --- lines that can no longer be bought as they are -----------------------------------------------

def test_lines_of_deactivated_short_or_deleted_products_are_flagged_not_dropped(
        customer_app, make_product, make_request, catalog_change):
    withdrawn = make_product(name="Withdrawn", price="5.00", stock=10)
    scarce = make_product(name="Scarce", price="7.00", stock=10)
    deleted = make_product(name="Deleted", price="3.00", stock=10)
    ids = [customer_app.post_json("/api/cart/items/", {"product": product, "quantity": 4}).json["id"]
           for product in (withdrawn, scarce, deleted)]
    catalog_change(withdrawn, is_active=False)
    catalog_change(scarce, stock=1)
    with make_request() as request:
        request.find_service(CatalogService).delete_product(deleted)

    assert customer_app.get("/api/cart/").json == {
        "items": [line(ids[0], withdrawn, "Withdrawn", "5.00", 4, "20.00", available=False, quantity_available=0),
                  line(ids[1], scarce, "Scarce", "7.00", 4, "28.00", available=False, quantity_available=1),
                  line(ids[2], deleted, None, None, 4, "0.00", available=False, quantity_available=0, sku=None)],
        "adjustments": [],
        "total_items": 12,
        "subtotal": "48.00",
        "total_price": "48.00",
        # Only the lines the catalog still prices count (the deleted product's is 0.00).
        "totals": goods_totals("48.00"),
        "shipping_method": None,
    }


# --- fixed query count ----------------------------------------------------------------------------

def test_the_cart_makes_the_same_queries_whatever_its_size(customer_app, make_product, count_queries):
    def queries_for_cart_of(size: int) -> list[str]:
        customer_app.delete("/api/cart/", status=204)
        for index in range(size):
            product = make_product(name=f"Item {size}-{index}", price="1.00", stock=5)
            customer_app.post_json("/api/cart/items/", {"product": product, "quantity": 1})
        with count_queries() as statements:
            assert len(customer_app.get("/api/cart/").json["items"]) == size
        return statements

    small, large = queries_for_cart_of(1), queries_for_cart_of(12)
    assert len(small) == len(large)
    # Besides authentication (the core's tables): the cart's lines, then their products in one query.
    cart_queries = [statement for statement in large if "core_" not in statement]
    assert len(cart_queries) == 2
    assert "FROM cart_items" in cart_queries[0] and "FROM catalog_products" in cart_queries[1]


# --- the price-adjustment hook --------------------------------------------------------------------

def test_a_registered_price_adjustment_shows_in_the_cart_and_changes_the_total(
        customer_app, lamp, chair, register_extension):
    seen = []

    def ten_percent_off_and_a_fee(request, cart):
        seen.append(cart)
        discount = -(cart.subtotal * Decimal("0.10")).quantize(Decimal("0.01"))
        return [Adjustment("Ten percent off", discount, source="test"), Adjustment("Handling", Decimal("1.99"))]

    register_extension(PRICE_ADJUSTMENTS, ten_percent_off_and_a_fee)
    customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 2})
    customer_app.post_json("/api/cart/items/", {"product": chair, "quantity": 1})
    body = customer_app.get("/api/cart/").json
    assert body["adjustments"] == [{"label": "Ten percent off", "amount": "-6.50"},
                                   {"label": "Handling", "amount": "1.99"}]
    assert (body["subtotal"], body["total_price"]) == ("65.00", "60.49")
    assert body["totals"] == {"subtotal": "65.00", "discount": "6.50", "fees": "1.99", "shipping": "0.00",
                              "tax": "0.00", "tax_included": "0.00", "total": "60.49"}
    snapshot = seen[-1]
    assert snapshot.user_id == customer_app.user_id
    assert [(cart_line.product_id, cart_line.unit_price, cart_line.quantity) for cart_line in snapshot.lines] == [
        (lamp, Decimal("12.50"), 2), (chair, Decimal("40.00"), 1)]


def test_a_discount_larger_than_the_goods_makes_the_cart_free_not_a_credit(customer_app, lamp, register_extension):
    register_extension(PRICE_ADJUSTMENTS, lambda request, cart: [Adjustment("Gift card", Decimal("-500.00"))])
    customer_app.post_json("/api/cart/items/", {"product": lamp, "quantity": 1})
    body = customer_app.get("/api/cart/").json
    assert (body["subtotal"], body["total_price"]) == ("12.50", "0.00")
    assert (body["totals"]["discount"], body["totals"]["total"]) == ("12.50", "0.00")
