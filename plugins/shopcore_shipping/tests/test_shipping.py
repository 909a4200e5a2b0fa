"""Shipping: zones and methods kept by admins, each rule priced for a cart, the cart's methods endpoint,
checkout charging the chosen method, product weights on the catalog's body."""
import pytest

ADDRESS = {"name": "Erika Mustermann", "line1": "Heidestraße 17", "city": "Berlin", "postal_code": "10557",
           "country": "DE"}


def checkout(app, status=201, **fields):
    return app.post_json("/api/orders/checkout/", {"payment_method": "card", "shipping_address": ADDRESS, **fields},
                         status=status).json


def methods_for(app, country="DE"):
    return app.get(f"/api/cart/shipping-methods/?country={country}").json["results"]


def test_each_rule_prices_the_cart(admin_app, customer_app, zone, method, make_product, add_to_cart):
    eu = zone()["id"]
    flat = method(eu, "Parcel", price="4.90")
    free = method(eu, "Free over 50", rule="free_above", price="6.00", free_above="50.00")
    heavy = method(eu, "By weight", rule="weight",
                   weight_bands=[{"up_to_grams": 2000, "price": "5.50"}, {"up_to_grams": 1000, "price": "3.50"}])
    lamp = make_product(name="Lamp", price="20.00", stock=10)
    admin_app.put_json(f"/api/shipping/products/{lamp}/", {"weight_grams": 600})
    add_to_cart(customer_app.user_id, lamp, 1)
    options = {option["id"]: option["price"] for option in methods_for(customer_app)}
    assert options == {flat["id"]: "4.90", free["id"]: "6.00", heavy["id"]: "3.50"}
    add_to_cart(customer_app.user_id, lamp, 2)  # 60.00 and 1800 g
    options = {option["id"]: option["price"] for option in methods_for(customer_app)}
    assert options == {flat["id"]: "4.90", free["id"]: "0.00", heavy["id"]: "5.50"}
    add_to_cart(customer_app.user_id, lamp, 1)  # 2400 g: heavier than the last band
    assert heavy["id"] not in {option["id"] for option in methods_for(customer_app)}
    # cheapest first
    assert [option["price"] for option in methods_for(customer_app)] == ["0.00", "4.90"]


def test_a_country_outside_every_zone_has_no_methods_and_checkout_names_it(
        customer_app, zone, method, make_product, add_to_cart):
    method(zone()["id"])
    add_to_cart(customer_app.user_id, make_product(), 1)
    assert methods_for(customer_app, "JP") == []
    body = checkout(customer_app, 400, shipping_address={**ADDRESS, "country": "JP"})
    assert body["errors"] == [{"field": "shipping_method", "message": "No shipping method ships this cart to JP."}]


def test_checkout_charges_the_chosen_method_and_keeps_a_copy(customer_app, admin_app, zone, method, make_product,
                                                             add_to_cart):
    eu = zone()["id"]
    express = method(eu, "Express", price="12.00")
    add_to_cart(customer_app.user_id, make_product(price="30.00"), 2)
    cart = customer_app.get(f"/api/cart/?country=DE&shipping_method={express['id']}").json
    assert cart["totals"] == {"subtotal": "60.00", "discount": "0.00", "fees": "0.00", "shipping": "12.00",
                              "tax": "0.00", "tax_included": "0.00", "total": "72.00"}
    order = checkout(customer_app, shipping_method=express["id"])
    assert order["totals"] == cart["totals"] and order["total_price"] == "72.00"
    assert order["shipping_method"] == {"id": express["id"], "name": "Express", "price": "12.00"}
    assert order["shipping_address_details"]["country"] == "DE"
    assert order["shipping_address"] == "Erika Mustermann, Heidestraße 17, 10557 Berlin, Germany"
    # The order keeps its copy whatever the shop does to the method later.
    admin_app.patch_json(f"/api/shipping/methods/{express['id']}/", {"price": "99.00", "name": "Renamed"})
    kept = customer_app.get(f"/api/orders/{order['id']}/").json
    assert kept["shipping_method"] == {"id": express["id"], "name": "Express", "price": "12.00"}


def test_checkout_without_a_method_needs_one_unless_the_shop_has_a_default(customer_app, zone, method,
                                                                           make_product, add_to_cart):
    eu = zone()["id"]
    method(eu, "Parcel")
    add_to_cart(customer_app.user_id, make_product(), 1)
    body = checkout(customer_app, 400)
    assert body["errors"] == [{"field": "shipping_method", "message":
                               "Choose a shipping method: GET /api/cart/shipping-methods/?country=DE lists them."}]
    # The seed's free-text address has no country: only a default method can ship it.
    seed = {"shipping_address": "1 Main St, Springfield", "payment_method": "card"}
    body = customer_app.post_json("/api/orders/checkout/", seed, status=400).json
    assert body["errors"][0]["field"] == "shipping_address"
    standard = method(eu, "Standard", price="3.00", is_default=True)
    order = customer_app.post_json("/api/orders/checkout/", seed, status=201).json
    assert order["shipping_method"]["id"] == standard["id"] and order["totals"]["shipping"] == "3.00"


def test_a_method_that_does_not_ship_there_is_a_400(customer_app, zone, method, make_product, add_to_cart):
    eu, us = zone()["id"], zone("US", ["US"])["id"]
    domestic = method(us, "USPS")
    method(eu)
    add_to_cart(customer_app.user_id, make_product(), 1)
    body = checkout(customer_app, 400, shipping_method=domestic["id"])
    assert body["errors"] == [{"field": "shipping_method",
                               "message": f"Shipping method {domestic['id']} does not ship this cart to DE."}]
    customer_app.get(f"/api/cart/?country=DE&shipping_method={domestic['id']}", status=400)


def test_one_default_and_one_zone_per_country(admin_app, zone, method):
    eu = zone()["id"]
    first = method(eu, "A", is_default=True)
    second = method(eu, "B", is_default=True)
    assert admin_app.get(f"/api/shipping/methods/{first['id']}/").json["is_default"] is False
    assert admin_app.get(f"/api/shipping/methods/{second['id']}/").json["is_default"] is True
    response = admin_app.post_json("/api/shipping/zones/", {"name": "Germany", "countries": ["de"]}, status=409)
    assert response.json["detail"] == "DE is already in zone 'EU'; a country belongs to one zone."


@pytest.mark.parametrize("body, field", [
    ({"rule": "flat"}, "price"),
    ({"rule": "free_above", "price": "5.00"}, "free_above"),
    ({"rule": "weight"}, "weight_bands"),
    ({"rule": "weight", "weight_bands": [{"up_to_grams": 10, "price": "1.00"},
                                         {"up_to_grams": 10, "price": "2.00"}]}, "weight_bands"),
    ({"rule": "flat", "price": "5.00", "weight_bands": [{"up_to_grams": 10, "price": "1.00"}]}, "weight_bands"),
    ({"rule": "flat", "price": "5.001"}, "price"),
    ({"rule": "flat", "price": "5.00", "zone": 999999}, "zone"),
])
def test_a_method_is_checked_as_a_whole(admin_app, zone, body, field):
    eu = zone()["id"]
    response = admin_app.post_json("/api/shipping/methods/", {"zone": eu, "name": "X", **body}, status=400)
    assert {error["field"] for error in response.json["errors"]} == {field}


def test_a_country_code_is_checked(admin_app):
    response = admin_app.post_json("/api/shipping/zones/", {"name": "Nowhere", "countries": ["XX"]}, status=400)
    assert response.json["errors"] == [{"field": "countries", "message":
                                        "Not an ISO 3166-1 alpha-2 country code: 'XX'."}]


def test_the_weight_shows_on_the_catalogs_product_body(admin_app, testapp, make_product):
    lamp = make_product()
    assert testapp.get(f"/api/products/{lamp}/").json["shipping_weight_grams"] is None
    admin_app.put_json(f"/api/shipping/products/{lamp}/", {"weight_grams": 1250})
    assert testapp.get(f"/api/products/{lamp}/").json["shipping_weight_grams"] == 1250
    assert admin_app.get(f"/api/shipping/products/{lamp}/").json == {"product": lamp, "weight_grams": 1250}
    admin_app.put_json("/api/shipping/products/999999/", {"weight_grams": 1}, status=404)


def test_only_admins_manage_shipping(customer_app, testapp):
    for path in ("/api/shipping/zones/", "/api/shipping/methods/"):
        customer_app.get(path, status=403)
        testapp.get(path, status=401)
    customer_app.post_json("/api/shipping/zones/", {"name": "Mine", "countries": []}, status=403)


def test_an_empty_cart_has_no_methods(customer_app, zone, method):
    method(zone()["id"])
    assert methods_for(customer_app) == []
