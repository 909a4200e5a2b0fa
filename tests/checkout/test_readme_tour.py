"""The README tour's "Addresses, shipping and tax" part, request by request, with both plugins enabled."""


def test_the_readme_tour_of_addresses_shipping_and_tax(customer_app, admin_app, make_product):
    book = make_product(name="A novel", price="20.00", stock=5)
    api = "/api"
    zone = admin_app.post_json(f"{api}/shipping/zones/", {"name": "DACH", "countries": ["DE", "AT", "CH"]}).json
    method = admin_app.post_json(f"{api}/shipping/methods/", {"zone": zone["id"], "name": "DHL Paket",
                                                              "rule": "free_above", "price": "4.90",
                                                              "free_above": "100.00", "is_default": True}).json
    admin_app.post_json(f"{api}/tax/rates/", {"country": "DE", "rate": "19", "label": "USt. 19%"})
    admin_app.post_json(f"{api}/tax/rates/", {"country": "DE", "rate": "7", "tax_class": "reduced"})
    admin_app.put_json(f"{api}/tax/products/{book}/", {"tax_class": "reduced"})
    customer_app.post_json(f"{api}/cart/items/", {"product": book, "quantity": 2}, status=201)

    address = customer_app.post_json(f"{api}/auth/user/addresses/", {
        "name": "John Doe", "line1": "Heidestraße 17", "city": "Berlin", "postal_code": "10557", "country": "DE",
        "phone": "030 901820", "is_default_shipping": True}, status=201).json
    assert address["phone"] == "+4930901820"
    methods = customer_app.get(f"{api}/cart/shipping-methods/?country=DE").json["results"]
    assert methods == [{"id": method["id"], "name": "DHL Paket", "price": "4.90", "is_default": True}]
    cart = customer_app.get(f"{api}/cart/?country=DE&shipping_method={method['id']}").json
    order = customer_app.post_json(f"{api}/orders/checkout/", {"shipping_address_id": address["id"],
                                                               "shipping_method": method["id"],
                                                               "payment_method": "credit_card"}, status=201).json
    # 40.00 at 7 % and 4.90 shipping at 19 %.
    assert order["totals"] == cart["totals"] == {"subtotal": "40.00", "discount": "0.00", "fees": "0.00",
                                                 "shipping": "4.90", "tax": "3.73", "tax_included": "0.00",
                                                 "total": "48.63"}
    assert [line["amount"] for line in order["tax_lines"]] == ["2.80", "0.93"]
