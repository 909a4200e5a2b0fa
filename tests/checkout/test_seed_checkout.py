"""The seed's checkout `{"shipping_address": "...", "payment_method": "..."}` with shipping and tax enabled:
a 400 naming what is missing, then, with a default method and a default country's rate, an order whose
totals include both; and the structured checkout with addresses from the book."""
import pytest

BERLIN = {"name": "Erika Mustermann", "line1": "Heidestraße 17", "city": "Berlin", "postal_code": "10557",
          "country": "DE", "phone": "+49 30 901820"}

SEED = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}


@pytest.fixture
def tax_default_app(make_test_app):
    return make_test_app(**{"shopcore.tax.default_country": "DE"})


@pytest.fixture
def make_test_app(shopcore_settings, shopcore_registry):
    import webtest

    from shopcore.testing import make_test_configurator

    def make(**overrides):
        config = make_test_configurator({**shopcore_settings, **overrides}, **{
            "shopcore.engine": shopcore_registry["shopcore.engine"],
            "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
        return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    return make


def test_the_seed_checkout_with_nothing_configured_is_a_400_naming_the_address(customer_app, make_product):
    customer_app.post_json("/api/cart/items/", {"product": make_product(), "quantity": 1})
    body = customer_app.post_json("/api/orders/checkout/", SEED, status=400).json
    assert body["errors"] == [{"field": "shipping_address", "message":
                               "Give the shipping address as an address with a country (or shipping_address_id): "
                               "the shop has no default shipping method."}]


def test_the_seed_checkout_with_a_default_method_and_rate_is_placed(customer_app, admin_app, germany,
                                                                    tax_default_app, make_product):
    admin_app.patch_json(f"/api/shipping/methods/{germany['method']['id']}/", {"is_default": True})
    customer_app.post_json("/api/cart/items/", {"product": make_product(price="10.00"), "quantity": 2})
    headers = {"Authorization": f"Bearer {customer_app.token}"}
    cart = tax_default_app.get("/api/cart/", headers=headers).json
    order = tax_default_app.post_json("/api/orders/checkout/", SEED, headers=headers, status=201).json
    # 20.00 goods + 4.90 shipping; 19 % on each: 3.80 + 0.93
    assert order["totals"] == {"subtotal": "20.00", "discount": "0.00", "fees": "0.00", "shipping": "4.90",
                               "tax": "4.73", "tax_included": "0.00", "total": "29.63"}
    assert order["totals"] == cart["totals"]
    assert [line["line"] for line in order["tax_lines"]][-1] == "shipping"
    assert order["shipping_address"] == SEED["shipping_address"] and order["shipping_address_details"] is None


def test_a_structured_checkout_from_the_address_book(customer_app, germany, make_product):
    shipping = customer_app.post_json("/api/auth/user/addresses/", {**BERLIN, "is_default_shipping": True}).json
    billing = customer_app.post_json("/api/auth/user/addresses/", {**BERLIN, "name": "Firma GmbH",
                                                                   "line1": "Hauptstr. 1"}).json
    customer_app.post_json("/api/cart/items/", {"product": make_product(price="100.00"), "quantity": 1})
    order = customer_app.post_json("/api/orders/checkout/", {
        "shipping_address_id": shipping["id"], "billing_address_id": billing["id"], "payment_method": "card",
        "shipping_method": germany["method"]["id"]}, status=201).json
    assert order["shipping_address_details"] == {key: shipping[key] for key in order["shipping_address_details"]}
    assert order["billing_address"]["name"] == "Firma GmbH"
    assert order["totals"]["total"] == "124.83"  # 100 + 4.90 + 19.00 + 0.93
    # The order keeps its copy: the book may change or lose the address.
    customer_app.delete(f"/api/auth/user/addresses/{billing['id']}/", status=204)
    assert customer_app.get(f"/api/orders/{order['id']}/").json["billing_address"]["name"] == "Firma GmbH"
    # Without any address, the default shipping address is used.
    customer_app.post_json("/api/cart/items/", {"product": make_product(price="5.00"), "quantity": 1})
    again = customer_app.post_json("/api/orders/checkout/", {"payment_method": "card",
                                                             "shipping_method": germany["method"]["id"]}).json
    assert again["shipping_address_details"]["line1"] == BERLIN["line1"]


def test_someone_elses_address_id_is_a_400(customer_app, other_customer_app, germany, make_product):
    theirs = other_customer_app.post_json("/api/auth/user/addresses/", BERLIN).json
    customer_app.post_json("/api/cart/items/", {"product": make_product(), "quantity": 1})
    body = customer_app.post_json("/api/orders/checkout/", {"shipping_address_id": theirs["id"],
                                                            "payment_method": "card"}, status=400).json
    assert body["errors"] == [{"field": "shipping_address_id",
                               "message": f"No address {theirs['id']} in your address book."}]


@pytest.mark.parametrize("address, field", [
    ({**BERLIN, "country": "XX"}, "shipping_address.country"),
    ({**BERLIN, "phone": "123"}, "shipping_address.phone"),
    ({**BERLIN, "extra": "x"}, "shipping_address.extra"),
])
def test_a_bad_inline_address_is_a_400_naming_its_field(customer_app, germany, make_product, address, field):
    customer_app.post_json("/api/cart/items/", {"product": make_product(), "quantity": 1})
    body = customer_app.post_json("/api/orders/checkout/", {"shipping_address": address, "payment_method": "card"},
                                  status=400).json
    assert [error["field"] for error in body["errors"]] == [field]


def test_a_coupon_discount_flows_into_the_totals_and_the_tax_base(customer_app, admin_app, germany, make_product):
    admin_app.post_json("/api/coupons/", {"code": "TENOFF", "kind": "fixed", "value": "10.00"}, status=201)
    book = make_product(name="Book", price="20.00")
    lamp = make_product(name="Lamp", price="30.00")
    admin_app.put_json(f"/api/tax/products/{book}/", {"tax_class": "reduced"})
    for product in (book, lamp):
        customer_app.post_json("/api/cart/items/", {"product": product, "quantity": 1})
    customer_app.post_json("/api/cart/coupon/", {"code": "TENOFF"})
    method = germany["method"]["id"]
    cart = customer_app.get(f"/api/cart/?country=DE&shipping_method={method}").json
    order = customer_app.post_json("/api/orders/checkout/", {"shipping_address": BERLIN, "payment_method": "card",
                                                             "shipping_method": method}).json
    # The 10.00 is shared 4.00 / 6.00: book 16.00 at 7 % = 1.12, lamp 24.00 at 19 % = 4.56, shipping 0.93.
    assert [(line["line"], line["amount"]) for line in order["tax_lines"]] == [
        (f"product:{book}", "1.12"), (f"product:{lamp}", "4.56"), ("shipping", "0.93")]
    assert order["totals"] == cart["totals"] == {
        "subtotal": "50.00", "discount": "10.00", "fees": "0.00", "shipping": "4.90", "tax": "6.61",
        "tax_included": "0.00", "total": "51.51"}
