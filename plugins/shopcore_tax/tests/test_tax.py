"""Tax: classes and rates kept by admins, per-line rounding, region over country, shipping taxed, prices
entered with or without tax, the product's class on the catalog's body, checkout keeping the tax lines."""
from decimal import Decimal

import pytest

from shopcore_tax.services import line_tax

BERLIN = {"name": "Erika Mustermann", "line1": "Heidestraße 17", "city": "Berlin", "postal_code": "10557",
          "country": "DE"}


def checkout(app, status=201, **fields):
    return app.post_json("/api/orders/checkout/", {"payment_method": "card", "shipping_address": BERLIN, **fields},
                         status=status).json


@pytest.mark.parametrize("amount, rate, included, tax", [
    ("10.00", "19", False, "1.90"),
    ("0.05", "10", False, "0.01"),     # 0.005 rounds half up
    ("0.04", "10", False, "0.00"),
    ("119.00", "19", True, "19.00"),
    ("10.00", "7.7", True, "0.71"),    # 0.7149...
    ("3.33", "8.875", False, "0.30"),  # 0.2955...
])
def test_the_rounding_rule_is_per_line_half_up_to_the_cent(amount, rate, included, tax):
    assert line_tax(Decimal(amount), Decimal(rate), included) == Decimal(tax)


def test_each_line_is_taxed_by_its_class_and_rounded_on_its_own(customer_app, admin_app, rate, make_product,
                                                                add_to_cart):
    rate("DE", "19")
    rate("DE", "7", tax_class="reduced", label="USt. 7%")
    book = make_product(name="Book", price="9.99", stock=10)
    pen = make_product(name="Pen", price="0.55", stock=10)
    admin_app.put_json(f"/api/tax/products/{book}/", {"tax_class": "reduced"})
    add_to_cart(customer_app.user_id, book, 1)
    add_to_cart(customer_app.user_id, pen, 3)
    order = checkout(customer_app)
    assert order["tax_lines"] == [
        {"line": f"product:{book}", "label": "USt. 7%", "rate": "7.000", "amount": "0.70", "included": False},
        {"line": f"product:{pen}", "label": "Standard rate 19%", "rate": "19.000", "amount": "0.31",
         "included": False}]
    assert order["totals"] == {"subtotal": "11.64", "discount": "0.00", "fees": "0.00", "shipping": "0.00",
                               "tax": "1.01", "tax_included": "0.00", "total": "12.65"}
    assert order["total_price"] == "12.65"


def test_a_regional_rate_replaces_the_countrys(customer_app, rate, make_product, add_to_cart):
    rate("US", "0")
    rate("US", "7.25", region="California", label="CA sales tax")
    add_to_cart(customer_app.user_id, make_product(price="100.00"), 1)
    ca = {**BERLIN, "country": "US", "region": "CA", "city": "San Francisco"}
    assert checkout(customer_app, shipping_address=ca)["totals"]["tax"] == "7.25"


def test_no_rate_there_means_no_tax(customer_app, rate, make_product, add_to_cart):
    rate("DE", "19")
    add_to_cart(customer_app.user_id, make_product(price="100.00"), 1)
    order = checkout(customer_app, shipping_address={**BERLIN, "country": "CH"})
    assert (order["tax_lines"], order["totals"]["tax"], order["total_price"]) == ([], "0.00", "100.00")


def test_a_free_text_address_needs_the_default_country_or_is_a_400(customer_app, make_app, rate, make_product,
                                                                   add_to_cart):
    rate("DE", "19")
    add_to_cart(customer_app.user_id, make_product(price="10.00"), 1)
    seed = {"shipping_address": "1 Main St, Springfield", "payment_method": "card"}
    body = customer_app.post_json("/api/orders/checkout/", seed, status=400).json
    assert body["errors"] == [{"field": "shipping_address", "message":
                               "Give the shipping address as an address with a country (or shipping_address_id): "
                               "tax is charged by the destination's country."}]
    shop = make_app(**{"shopcore.tax.default_country": "DE"})
    headers = {"Authorization": f"Bearer {customer_app.token}"}
    order = shop.post_json("/api/orders/checkout/", seed, headers=headers, status=201).json
    assert (order["totals"]["tax"], order["total_price"]) == ("1.90", "11.90")


def test_prices_with_tax_show_the_tax_included(customer_app, make_app, rate, make_product, add_to_cart):
    rate("DE", "19")
    add_to_cart(customer_app.user_id, make_product(price="119.00"), 1)
    shop = make_app(**{"shopcore.tax.prices_include_tax": "true"})
    headers = {"Authorization": f"Bearer {customer_app.token}"}
    order = shop.post_json("/api/orders/checkout/", {"payment_method": "card", "shipping_address": BERLIN},
                           headers=headers, status=201).json
    assert order["totals"] == {"subtotal": "119.00", "discount": "0.00", "fees": "0.00", "shipping": "0.00",
                               "tax": "19.00", "tax_included": "19.00", "total": "119.00"}
    assert order["tax_lines"][0]["included"] is True


def test_the_class_shows_on_the_catalogs_product_body(admin_app, testapp, make_product):
    lamp = make_product()
    assert testapp.get(f"/api/products/{lamp}/").json["tax_class"] == "standard"
    admin_app.put_json(f"/api/tax/products/{lamp}/", {"tax_class": "zero"})
    assert testapp.get(f"/api/products/{lamp}/").json["tax_class"] == "zero"
    response = admin_app.put_json(f"/api/tax/products/{lamp}/", {"tax_class": "luxury"}, status=400)
    assert response.json["errors"] == [{"field": "tax_class", "message": "No tax class 'luxury'."}]


def test_admins_add_classes_and_rates_are_unique_per_place(admin_app, rate):
    created = admin_app.post_json("/api/tax/classes/", {"code": "books", "name": "Books"}, status=201).json
    assert created["code"] == "books"
    admin_app.post_json("/api/tax/classes/", {"code": "books", "name": "Again"}, status=409)
    first = rate("FR", "5.5", tax_class="books")
    assert first == {"id": first["id"], "tax_class": "books", "country": "FR", "region": "", "rate": "5.500",
                     "label": ""}
    response = admin_app.post_json("/api/tax/rates/", {"country": "fr", "rate": "6", "tax_class": "books"},
                                   status=409)
    assert response.json["errors"][0]["field"] == "region"
    assert [r["id"] for r in admin_app.get("/api/tax/rates/?country=FR").json["results"]] == [first["id"]]
    standard = next(c for c in admin_app.get("/api/tax/classes/").json["results"] if c["code"] == "standard")
    admin_app.delete(f"/api/tax/classes/{standard['id']}/", status=409)
    admin_app.delete(f"/api/tax/classes/{created['id']}/", status=204)
    admin_app.get(f"/api/tax/rates/{first['id']}/", status=404)


@pytest.mark.parametrize("body, field", [
    ({"country": "DE", "rate": "101"}, "rate"),
    ({"country": "DE", "rate": "19.0001"}, "rate"),
    ({"country": "XX", "rate": "19"}, "country"),
    ({"country": "DE", "rate": "19", "tax_class": "nope"}, "tax_class"),
])
def test_a_rate_is_checked(admin_app, body, field):
    response = admin_app.post_json("/api/tax/rates/", body, status=400)
    assert {error["field"] for error in response.json["errors"]} == {field}


def test_only_admins_manage_tax(customer_app, testapp):
    for path in ("/api/tax/rates/", "/api/tax/classes/"):
        customer_app.get(path, status=403)
        testapp.get(path, status=401)
