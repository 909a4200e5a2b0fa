"""Variants and options: a product sold in sizes and colours, its price and stock made of its variants'."""
import pytest

from shopcore_catalog.api import CatalogService

TSHIRT = {"name": "T-shirt", "option_names": ["size", "color"], "variants": [
    {"sku": "TS-S-RED", "options": {"size": "S", "color": "red"}, "price": "20.00", "stock": 3},
    {"sku": "TS-M-RED", "options": {"size": "M", "color": "red"}, "price": "18.50", "stock": 4},
    {"sku": "TS-M-BLUE", "options": {"color": "blue", "size": "M"}, "price": "25.00", "stock": 0,
     "is_active": False},
]}


@pytest.fixture
def tshirt(admin_app):
    return admin_app.post_json("/api/products/", TSHIRT, status=201).json


def test_a_product_with_options_lists_its_variants_and_totals(tshirt, testapp):
    assert tshirt["option_names"] == ["size", "color"]
    assert [(v["sku"], v["options"], v["price"], v["stock"], v["is_active"]) for v in tshirt["variants"]] == [
        ("TS-S-RED", {"size": "S", "color": "red"}, "20.00", 3, True),
        ("TS-M-RED", {"size": "M", "color": "red"}, "18.50", 4, True),
        ("TS-M-BLUE", {"size": "M", "color": "blue"}, "25.00", 0, False)]
    # The seed's fields: the lowest active price, the active variants' stock.
    assert (tshirt["price"], tshirt["stock"]) == ("18.50", 7)
    listed = testapp.get("/api/products/").json["results"]
    assert [(p["id"], p["price"], p["stock"], len(p["variants"])) for p in listed] == [(tshirt["id"], "18.50", 7, 3)]
    assert testapp.get(f"/api/products/{tshirt['id']}/").json == tshirt


def test_variant_endpoints_change_the_product_totals(tshirt, admin_app, testapp):
    product = tshirt["id"]
    added = admin_app.post_json(f"/api/products/{product}/variants/",
                                {"options": {"size": "L", "color": "red"}, "price": "9.99", "stock": 10},
                                status=201).json
    assert added["sku"] == "t-shirt" and added["is_active"] is True  # made from the slug when not given
    body = testapp.get(f"/api/products/{product}/").json
    assert (body["price"], body["stock"]) == ("9.99", 17)
    assert admin_app.get(f"/api/variants/{added['id']}/").json == added
    admin_app.patch_json(f"/api/variants/{added['id']}/", {"price": "30.00", "stock": 1})
    assert (testapp.get(f"/api/products/{product}/").json["price"], testapp.get(
        f"/api/products/{product}/").json["stock"]) == ("18.50", 8)
    blue = tshirt["variants"][2]["id"]
    admin_app.patch_json(f"/api/variants/{blue}/", {"is_active": True, "stock": 5})
    assert testapp.get(f"/api/products/{product}/").json["stock"] == 13
    admin_app.delete(f"/api/variants/{added['id']}/", status=204)
    admin_app.get(f"/api/variants/{added['id']}/", status=404)
    body = testapp.get(f"/api/products/{product}/").json
    assert (body["price"], body["stock"], len(body["variants"])) == ("18.50", 12, 3)


def test_options_and_skus_are_checked(tshirt, admin_app):
    url = f"/api/products/{tshirt['id']}/variants/"
    same = admin_app.post_json(url, {"options": {"size": "M", "color": "red"}, "price": "1.00"}, status=409).json
    assert same["errors"][0]["field"] == "options"
    taken = admin_app.post_json(url, {"sku": "ts-s-red", "options": {"size": "XL", "color": "red"}, "price": "1"},
                                status=409).json
    assert taken["errors"][0]["field"] == "sku"  # unique whatever the case
    wrong = admin_app.post_json(url, {"options": {"size": "XL"}, "price": "1.00"}, status=400).json
    assert wrong["errors"] == [{"field": "options", "message": "Give exactly the product's options: size, color."}]
    blank = admin_app.post_json(url, {"options": {"size": " ", "color": "red"}, "price": "1.00"}, status=400).json
    assert blank["errors"] == [{"field": "options.size", "message": "This field may not be blank."}]
    bad_sku = admin_app.post_json(url, {"sku": "a b", "options": {"size": "XS", "color": "red"}, "price": "1"},
                                  status=400).json
    assert bad_sku["errors"][0]["field"] == "sku"
    moved = admin_app.patch_json(f"/api/variants/{tshirt['variants'][0]['id']}/",
                                 {"options": {"size": "M", "color": "red"}}, status=409).json
    assert moved["errors"][0]["field"] == "options"
    duplicate = dict(TSHIRT, name="Other", variants=[TSHIRT["variants"][0] | {"sku": "X1"},
                                                     TSHIRT["variants"][0] | {"sku": "X2"}])
    assert admin_app.post_json("/api/products/", duplicate, status=409).json["errors"][0]["field"] == "variants"
    positioned = admin_app.post_json("/api/products/", dict(TSHIRT, name="Other", variants=[
        {"options": {"size": "S"}, "price": "1.00"}]), status=400).json
    assert positioned["errors"][0]["field"] == "variants.0.options"


def test_a_product_keeps_its_last_variant(admin_app, make_product, testapp):
    lamp = make_product("Lamp", price="10.00", stock=2)
    only = testapp.get(f"/api/products/{lamp}/").json["variants"][0]
    assert admin_app.delete(f"/api/variants/{only['id']}/", status=409).json["errors"][0]["field"] == "variant"


def test_the_seed_fields_of_a_product_with_several_variants_are_refused(tshirt, admin_app):
    refused = admin_app.patch_json(f"/api/products/{tshirt['id']}/", {"price": "5.00"}, status=400).json
    assert refused["errors"][0]["field"] == "price"
    assert admin_app.patch_json(f"/api/products/{tshirt['id']}/", {"stock": 5}, status=400).json["errors"][0][
        "field"] == "stock"


def test_the_seed_fields_of_a_one_variant_product_are_its_variant(make_product, admin_app, testapp):
    lamp = make_product("Lamp", price="10.00", stock=2)
    admin_app.patch_json(f"/api/products/{lamp}/", {"price": "12.00", "stock": 7, "sku": "LAMP-1"})
    variant = testapp.get(f"/api/products/{lamp}/").json["variants"][0]
    assert (variant["sku"], variant["price"], variant["stock"]) == ("LAMP-1", "12.00", 7)


def test_option_names_can_change(make_product, admin_app, testapp):
    lamp = make_product("Lamp", price="10.00", stock=2)
    body = admin_app.patch_json(f"/api/products/{lamp}/", {"option_names": ["color"]}).json
    assert body["option_names"] == ["color"] and body["variants"][0]["options"] == {"color": "Default"}
    admin_app.patch_json(f"/api/variants/{body['variants'][0]['id']}/", {"options": {"color": "white"}})
    admin_app.post_json(f"/api/products/{lamp}/variants/", {"options": {"color": "black"}, "price": "11.00"},
                        status=201)
    # Dropping the only option would leave two variants alike.
    assert admin_app.patch_json(f"/api/products/{lamp}/", {"option_names": []}, status=409).json["errors"][0][
        "field"] == "option_names"
    renamed = admin_app.patch_json(f"/api/products/{lamp}/", {"option_names": ["color", "size"]}).json
    assert sorted(v["options"]["color"] for v in renamed["variants"]) == ["black", "white"]
    assert {v["options"]["size"] for v in renamed["variants"]} == {"Default"}


def test_variants_are_for_admins(tshirt, customer_app, testapp):
    variant = tshirt["variants"][0]["id"]
    customer_app.get(f"/api/variants/{variant}/", status=403)
    customer_app.patch_json(f"/api/variants/{variant}/", {"price": "1.00"}, status=403)
    customer_app.post_json(f"/api/products/{tshirt['id']}/variants/", {"price": "1.00"}, status=403)
    testapp.get(f"/api/variants/{variant}/", status=401)


def test_the_service_gives_variants_to_other_plugins(tshirt, make_request):
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        variants = catalog.get_product_variants(tshirt["id"])
        assert [v.sku for v in variants] == ["TS-S-RED", "TS-M-RED", "TS-M-BLUE"]
        assert variants[2].is_active is False and variants[0].product_name == "T-shirt"
        assert catalog.get_variants([variants[0].id, 999999]) == {variants[0].id: variants[0]}
        made = catalog.create_variant(tshirt["id"], sku="TS-XL", options={"size": "XL", "color": "red"},
                                      price="22.00", stock=2)
        assert (made.sku, made.stock, made.options) == ("TS-XL", 2, {"size": "XL", "color": "red"})
        assert catalog.take_variant_stock_many({variants[0].id: 3, made.id: 2}) == set()
        assert catalog.take_variant_stock_many({variants[1].id: 1, made.id: 1}) == {made.id}  # none taken
        assert catalog.take_variant_stock_many({variants[2].id: 0 + 1}) == {variants[2].id}  # inactive
        assert catalog.get_product(tshirt["id"]).stock == 4
        catalog.return_variant_stock(made.id, 2)
        assert catalog.get_product(tshirt["id"]).stock == 6
        with pytest.raises(Exception) as several:
            catalog.take_stock(tshirt["id"], 1)
        assert several.value.errors[0]["field"] == "variant"
