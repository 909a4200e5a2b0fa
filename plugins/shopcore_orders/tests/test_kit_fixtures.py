"""The orders plugin's test kit: `make_order` and `make_paid_order` place real orders through the cart
and orders services, as a customer's checkout would."""
from decimal import Decimal


def test_make_order_places_a_pending_order_of_a_new_product(customer_app, make_order):
    order = make_order(customer_app.user_id)
    assert order["status"] == "pending"
    assert order["user_id"] == customer_app.user_id
    assert [(line["quantity"], line["price"]) for line in order["items"]] == [(1, Decimal("10.00"))]
    listed = customer_app.get(f"/api/orders/{order['id']}/").json
    assert listed["status"] == "pending" and listed["total_price"] == "10.00"


def test_make_order_buys_the_products_given_and_takes_their_stock(customer_app, make_product, make_order, stock_of):
    lamp = make_product(name="Lamp", price="12.50", stock=5)
    mug = make_product(name="Mug", price="3.20", stock=5)
    order = make_order(customer_app.user_id, {lamp: 2, mug: 1}, shipping_address="2 Elm St")
    assert order["total_price"] == Decimal("28.20")
    assert order["shipping_address"] == "2 Elm St"
    assert (stock_of(lamp), stock_of(mug)) == (3, 4)
    assert customer_app.get("/api/cart/").json["total_items"] == 0


def test_make_paid_order_is_paid_by_its_customer(customer_app, other_customer_app, make_paid_order, order_events):
    order = make_paid_order(customer_app.user_id)
    assert order["status"] == "paid"
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "paid"
    other_customer_app.get(f"/api/orders/{order['id']}/", status=404)
    assert [type(event).__name__ for event in order_events] == ["OrderPlaced", "OrderPaid"]
