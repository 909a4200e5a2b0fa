"""Product endpoints: CRUD, permissions, exact prices, validation, and deactivation of referenced products."""
import pytest

from shopcore_catalog.api import PRODUCT_REFERENCED, CatalogService


@pytest.fixture
def orders_keep(register_extension):
    """A `product_referenced` implementation, as the orders plugin registers one: these ids are in orders."""
    referenced: set[int] = set()

    def product_in_an_order(request, product_id):
        return product_id in referenced

    register_extension(PRODUCT_REFERENCED, product_in_an_order)
    return referenced


def test_admin_creates_reads_updates_and_deletes_a_product(make_category, admin_app, testapp):
    phones = make_category("Phones")
    created = admin_app.post_json("/api/products/", {"name": "Phone", "price": 30000, "category": phones,
                                                     "stock": 50}, status=201).json
    product_id = created["id"]
    assert created["created_at"] == created["updated_at"]
    seed_fields = ("id", "name", "slug", "description", "price", "stock", "category", "is_active")
    assert {k: created[k] for k in seed_fields} == {
        "id": product_id, "name": "Phone", "slug": "phone", "description": "", "price": "30000.00",
        "stock": 50, "category": phones, "is_active": True}
    # Issue 16: the body gains the product's variants (created the seed's way: one, with its price and stock).
    assert created["option_names"] == [] and created["attributes"] == {} and created["images"] == []
    assert [{k: v for k, v in variant.items() if k != "id"} for variant in created["variants"]] == [
        {"sku": "phone", "options": {}, "price": "30000.00", "stock": 50, "is_active": True}]
    assert testapp.get(f"/api/products/{product_id}/").json == created

    patched = admin_app.patch_json(f"/api/products/{product_id}/", {"price": "45000.50"}).json
    assert (patched["price"], patched["stock"], patched["name"]) == ("45000.50", 50, "Phone")
    replaced = admin_app.put_json(f"/api/products/{product_id}/", {"name": "Phone 2", "price": "1.5"}).json
    assert (replaced["name"], replaced["price"], replaced["category"]) == ("Phone 2", "1.50", phones)

    admin_app.delete(f"/api/products/{product_id}/", status=204)
    testapp.get(f"/api/products/{product_id}/", status=404)
    admin_app.get(f"/api/products/{product_id}/", status=404)


@pytest.mark.parametrize("sent, stored", [
    ("30000.00", "30000.00"), ("19.9", "19.90"), (19.99, "19.99"), (0, "0.00"), ("0.10", "0.10"),
    (1e3, "1000.00"), (9999999999.99, "9999999999.99"), (" 7 ", "7.00"),
])
def test_prices_are_exact_decimals(admin_app, sent, stored):
    body = admin_app.post_json("/api/products/", {"name": "Thing", "price": sent}, status=201).json
    assert body["price"] == stored


def test_prices_never_go_through_float(admin_app, testapp):
    # 0.1 + 0.2 as a float is 0.30000000000000004; sent as JSON text it must stay what was written.
    response = admin_app.post("/api/products/", b'{"name": "Exact", "price": 1234567890.12}',
                              content_type="application/json", status=201)
    assert response.json["price"] == "1234567890.12"
    too_precise = admin_app.post("/api/products/", b'{"name": "Float", "price": 0.30000000000000004}',
                                 content_type="application/json", status=400)
    assert too_precise.json["errors"] == [
        {"field": "price", "message": "Ensure that there are no more than 2 decimal places."}]


@pytest.mark.parametrize("body, field, message", [
    ({"name": "X", "price": "-1.00"}, "price", "Ensure this value is greater than or equal to 0."),
    ({"name": "X", "price": -5}, "price", "Ensure this value is greater than or equal to 0."),
    ({"name": "X", "price": "1.001"}, "price", "Ensure that there are no more than 2 decimal places."),
    ({"name": "X", "price": "abc"}, "price", "A valid number is required."),
    ({"name": "X", "price": "NaN"}, "price", "A valid number is required."),
    ({"name": "X", "price": "1e400"}, "price", "Ensure this value is less than or equal to 9999999999.99."),
    ({"name": "X", "price": 10000000000}, "price", "Ensure this value is less than or equal to 9999999999.99."),
    ({"name": "X", "price": True}, "price", None),
    ({"name": "X", "price": None}, "price", None),
    ({"name": "X", "price": "1" * 33}, "price", None),
    ({"name": "X"}, "price", "This field is required."),
    ({"price": "1.00"}, "name", "This field is required."),
    ({"name": "X", "price": "1.00", "stock": -1}, "stock", None),
    ({"name": "X", "price": "1.00", "stock": 2.5}, "stock", None),
    ({"name": "X", "price": "1.00", "stock": 3000000000}, "stock", None),
    ({"name": "X", "price": "1.00", "category": 424242}, "category", "Category 424242 does not exist."),
    ({"name": "X", "price": "1.00", "category": "1"}, "category", None),
    ({"name": "X", "price": "1.00", "colour": "red"}, "colour", "Unknown field."),
    ({"name": "x" * 201, "price": "1.00"}, "name", None),
    ({"name": "X", "price": "1.00", "description": "d" * 5001}, "description", None),
    ({"name": "X", "price": "1.00", "slug": "s" * 121}, "slug", None),
    ({"name": "X", "price": "1.00", "is_active": "yes"}, "is_active", None),
])
def test_bad_input_is_a_400_naming_the_field(admin_app, body, field, message):
    response = admin_app.post_json("/api/products/", body, status=400)
    assert [error["field"] for error in response.json["errors"]] == [field]
    if message is not None:
        assert response.json["errors"][0]["message"] == message


@pytest.mark.parametrize("raw", [
    b'{"name": "X", "price": NaN}', b'{"name": "X", "price": Infinity}', b'{"name": "X", "price": 1e999999}',
    b'{"name": "X", "price": "1.00"', b'[]', b'"text"', b'{"name": "\\ud800", "price": 1}',
])
def test_odd_bodies_are_refused_without_a_500(admin_app, raw):
    response = admin_app.post("/api/products/", raw, content_type="application/json", status=400)
    assert response.json["detail"]


def test_patch_validates_only_what_it_changes(make_product, admin_app):
    product_id = make_product("Lamp", price="20.00", stock=3)
    response = admin_app.patch_json(f"/api/products/{product_id}/", {"stock": -2}, status=400)
    assert response.json["errors"][0]["field"] == "stock"
    response = admin_app.patch_json(f"/api/products/{product_id}/", {"category": 424242}, status=400)
    assert response.json["errors"][0]["field"] == "category"
    unchanged = admin_app.patch_json(f"/api/products/{product_id}/", {}).json
    assert (unchanged["price"], unchanged["stock"]) == ("20.00", 3)


def test_put_needs_name_and_price(make_product, admin_app):
    product_id = make_product("Lamp")
    response = admin_app.put_json(f"/api/products/{product_id}/", {"name": "Lamp"}, status=400)
    assert response.json["errors"] == [{"field": "price", "message": "This field is required."}]


def test_products_may_share_a_name_but_not_a_slug(admin_app):
    first = admin_app.post_json("/api/products/", {"name": "Café Table", "price": "1.00"}, status=201).json
    second = admin_app.post_json("/api/products/", {"name": "Café Table", "price": "1.00"}, status=201).json
    assert (first["slug"], second["slug"]) == ("cafe-table", "cafe-table-2")
    clash = admin_app.patch_json(f"/api/products/{second['id']}/", {"slug": "cafe-table"}, status=400)
    assert clash.json["errors"] == [{"field": "slug", "message": "A product with this slug already exists."}]


@pytest.mark.parametrize("method", ["post_json", "put_json", "patch_json", "delete"])
def test_writes_need_an_admin(method, make_product, testapp, customer_app):
    product_id = make_product("Lamp", price="20.00")
    url = "/api/products/" if method == "post_json" else f"/api/products/{product_id}/"
    args = () if method == "delete" else ({"name": "Free lamp", "price": "0.00"},)
    assert getattr(testapp, method)(url, *args, status=401).json["detail"].startswith("Authentication")
    assert getattr(customer_app, method)(url, *args, status=403).json["detail"].startswith("You do not")
    assert testapp.get(f"/api/products/{product_id}/").json["price"] == "20.00"


@pytest.mark.parametrize("method", ["get", "patch_json", "put_json", "delete"])
def test_unknown_product_is_a_404(admin_app, method):
    args = () if method in ("get", "delete") else ({"name": "X", "price": "1.00"},)
    response = getattr(admin_app, method)("/api/products/424242/", *args, status=404)
    assert response.json == {"detail": "Product not found."}


def test_deleting_a_product_in_an_order_deactivates_it(make_product, admin_app, customer_app, testapp,
                                                       make_request, orders_keep):
    ordered = make_product("Ordered lamp", price="20.00")
    orders_keep.add(ordered)
    admin_app.delete(f"/api/products/{ordered}/", status=204)

    testapp.get(f"/api/products/{ordered}/", status=404)
    customer_app.get(f"/api/products/{ordered}/", status=404)
    assert testapp.get("/api/products/").json["count"] == 0
    kept = admin_app.get(f"/api/products/{ordered}/").json
    assert (kept["name"], kept["price"], kept["is_active"]) == ("Ordered lamp", "20.00", False)
    with make_request() as request:
        info = request.find_service(CatalogService).get_product(ordered)
    assert (info.name, info.price, info.is_active) == ("Ordered lamp", kept and info.price, False)

    # An admin can bring it back.
    admin_app.patch_json(f"/api/products/{ordered}/", {"is_active": True})
    assert testapp.get(f"/api/products/{ordered}/").json["is_active"] is True


def test_deleting_a_product_in_no_order_removes_it(make_product, admin_app, make_request, orders_keep):
    ordered = make_product("Ordered")
    never_ordered = make_product("Never ordered")
    orders_keep.add(ordered)
    admin_app.delete(f"/api/products/{never_ordered}/", status=204)
    with make_request() as request:
        assert request.find_service(CatalogService).get_products([ordered, never_ordered]).keys() == {ordered}
