"""Checkout: all or nothing, prices copied, the cart emptied, the decision hooks, a fixed query count."""
import datetime
from decimal import Decimal
from unittest.mock import ANY

import pytest
from sqlalchemy import event, func, select

from shopcore_cart.api import PRICE_ADJUSTMENTS, Adjustment
from shopcore_orders.api import CHECKOUT_VALIDATORS, ORDER_PLACED, CheckoutRefused

from shopcore_cart.api import CartService
from shopcore_catalog.api import CatalogService
from shopcore_orders.api import OrderService
from shopcore_orders.events import OrderEventLine, OrderPlaced
from shopcore_orders.models import Order, OrderLine


@pytest.fixture
def count_orders(make_request):
    def count() -> int:
        with make_request() as request:
            return request.dbsession.scalar(select(func.count()).select_from(Order))

    return count


@pytest.fixture
def cart_of(make_request):
    def cart(user_id: int) -> list[tuple[int, int]]:
        with make_request() as request:
            priced = request.find_service(CartService).priced_cart(user_id)
            return [(line.product_id, line.quantity) for line in priced.lines]

    return cart


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/orders/"), ("POST", "/api/orders/checkout/"), ("GET", "/api/orders/1/"),
    ("PATCH", "/api/orders/1/update/"), ("POST", "/api/orders/1/cancel/"), ("POST", "/api/orders/1/pay/"),
    ("PATCH", "/api/orders/1/status/"),
])
def test_every_endpoint_needs_a_logged_in_user(testapp, method, path):
    response = testapp.request(path, method=method, status=401)
    assert response.json == {"detail": "Authentication credentials were not provided or are invalid."}


def test_checkout_places_a_pending_order_copying_prices_and_empties_the_cart(
        customer_app, make_product, add_to_cart, shop_details, stock_of, cart_of, order_events):
    lamp = make_product(name="Desk lamp", price="12.50", stock=5)
    chair = make_product(name="Chair", price="40.00", stock=2)
    add_to_cart(customer_app.user_id, lamp, 2)
    add_to_cart(customer_app.user_id, chair, 2)
    before = datetime.datetime.now(datetime.timezone.utc)

    body = customer_app.post_json("/api/orders/checkout/", shop_details, status=201).json

    created = datetime.datetime.fromisoformat(body.pop("created_at"))
    assert before <= created <= datetime.datetime.now(datetime.timezone.utc)
    assert datetime.datetime.fromisoformat(body.pop("updated_at")) == created
    assert body == {
        "id": body["id"], "user": customer_app.user_id, "status": "pending",
        "subtotal": "105.00", "total_price": "105.00",
        # Neither shipping nor tax is offered: the totals are the goods, and nothing else is kept.
        "totals": {"subtotal": "105.00", "discount": "0.00", "fees": "0.00", "shipping": "0.00", "tax": "0.00",
                   "tax_included": "0.00", "total": "105.00"},
        "shipping_method": None, "tax_lines": [], "shipping_address_details": None, "billing_address": None,
        "shipping_address": "1 Main St, Springfield", "payment_method": "credit_card",
        # Issue 16: each line also keeps the variant bought, its SKU and options.
        "items": [{"id": body["items"][0]["id"], "product": lamp, "product_name": "Desk lamp", "quantity": 2,
                   "price": "12.50", "variant": ANY, "sku": "desk-lamp", "options": {}},
                  {"id": body["items"][1]["id"], "product": chair, "product_name": "Chair", "quantity": 2,
                   "price": "40.00", "variant": ANY, "sku": "chair", "options": {}}],
        "adjustments": [], "shipped_at": None, "delivered_at": None,
    }
    # Each line carries its own id (what a return or a refund names), the same when the order is read.
    shown = customer_app.get(f"/api/orders/{body['id']}/").json
    assert [item["id"] for item in shown["items"]] == [item["id"] for item in body["items"]]
    assert len({item["id"] for item in body["items"]}) == 2
    assert (stock_of(lamp), stock_of(chair)) == (3, 0)
    assert cart_of(customer_app.user_id) == []
    # The event carries what a subscriber needs: the total and every line at the price paid.
    assert order_events == [OrderPlaced(order_id=body["id"], user_id=customer_app.user_id,
                                        total_price=Decimal("105.00"),
                                        lines=(OrderEventLine(lamp, 2, Decimal("12.50")),
                                               OrderEventLine(chair, 2, Decimal("40.00"))))]


def test_order_history_keeps_the_name_and_price_paid_whatever_the_catalog_does(
        customer_app, make_product, add_to_cart, shop_details, make_request):
    lamp = make_product(name="Desk lamp", price="12.50", stock=5)
    add_to_cart(customer_app.user_id, lamp, 1)
    order = customer_app.post_json("/api/orders/checkout/", shop_details).json
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        catalog.update_product(lamp, {"name": "Floor lamp", "price": "99.00"})
        # an order line keeps the product: the catalog deactivates it instead of deleting it
        catalog.delete_product(lamp)
        assert catalog.get_product(lamp).is_active is False
    shown = customer_app.get(f"/api/orders/{order['id']}/").json
    assert shown["items"] == [{"id": order["items"][0]["id"], "product": lamp, "product_name": "Desk lamp",
                               "quantity": 1, "price": "12.50", "variant": ANY, "sku": "desk-lamp", "options": {}}]
    assert shown["total_price"] == "12.50"


def test_a_product_no_order_keeps_is_really_deleted(customer_app, make_product, make_request):
    unsold = make_product(name="Unsold")
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        assert request.find_service(OrderService).is_product_referenced(unsold) is False
        catalog.delete_product(unsold)
        assert catalog.get_product(unsold) is None


def test_an_empty_cart_is_a_400(customer_app, shop_details, count_orders):
    response = customer_app.post_json("/api/orders/checkout/", shop_details, status=400)
    assert response.json == {"detail": "Your cart is empty.",
                             "errors": [{"field": "cart", "message": "Add products before checking out."}]}
    assert count_orders() == 0


def test_a_short_line_is_a_409_naming_it_and_nothing_changes(
        customer_app, make_product, add_to_cart, shop_details, stock_of, cart_of, count_orders, make_request):
    lamp = make_product(name="Desk lamp", price="12.50", stock=5)
    chair = make_product(name="Chair", price="40.00", stock=3)
    add_to_cart(customer_app.user_id, lamp, 2)
    add_to_cart(customer_app.user_id, chair, 3)
    with make_request() as request:  # someone else bought chairs meanwhile
        assert request.find_service(CatalogService).take_stock(chair, 2)

    response = customer_app.post_json("/api/orders/checkout/", shop_details, status=409)

    message = f"Not enough stock for 'Chair' (product {chair}): 1 available, 3 in the cart."
    assert response.json == {"detail": message, "errors": [{"field": "cart", "message": message}]}
    assert (stock_of(lamp), stock_of(chair)) == (5, 1)
    assert cart_of(customer_app.user_id) == [(lamp, 2), (chair, 3)]
    assert count_orders() == 0


def test_a_deactivated_product_in_the_cart_is_a_409(customer_app, make_product, add_to_cart, shop_details,
                                                   make_request, count_orders):
    lamp = make_product(name="Desk lamp", stock=5)
    add_to_cart(customer_app.user_id, lamp, 1)
    with make_request() as request:
        request.find_service(CatalogService).update_product(lamp, {"is_active": False})
    response = customer_app.post_json("/api/orders/checkout/", shop_details, status=409)
    message = f"'Desk lamp' (product {lamp}) is no longer available: 0 available, 1 in the cart."
    assert response.json == {"detail": message, "errors": [{"field": "cart", "message": message}]}
    assert count_orders() == 0


def test_the_stock_update_itself_refuses_a_line_that_looked_fine(
        customer_app, make_product, add_to_cart, shop_details, stock_of, cart_of, make_request, register_extension):
    """The cart is read before the stock is taken; the conditional UPDATE has the last word."""
    lamp = make_product(name="Desk lamp", stock=5)
    chair = make_product(name="Chair", stock=2)
    add_to_cart(customer_app.user_id, lamp, 1)
    add_to_cart(customer_app.user_id, chair, 2)

    def someone_buys_a_chair_meanwhile(request, cart):
        # runs after the cart was read and priced, before the stock is taken
        assert request.find_service(CatalogService).take_stock(chair, 1)

    register_extension(CHECKOUT_VALIDATORS, someone_buys_a_chair_meanwhile)
    response = customer_app.post_json("/api/orders/checkout/", shop_details, status=409)
    assert response.json["detail"] == f"Not enough stock for 'Chair' (product {chair}): 1 available, 2 in the cart."
    # the whole transaction rolled back, the validator's own purchase included
    assert (stock_of(lamp), stock_of(chair)) == (5, 2)
    assert cart_of(customer_app.user_id) == [(lamp, 1), (chair, 2)]


@pytest.mark.parametrize("body, field, message", [
    ({"payment_method": "card"}, "shipping_address", "This field is required."),
    ({"shipping_address": "1 Main St"}, "payment_method", "This field is required."),
    ({"shipping_address": "   ", "payment_method": "card"}, "shipping_address", "Must match the pattern \\S."),
    ({"shipping_address": "", "payment_method": "card"}, "shipping_address", "This field may not be blank."),
    ({"shipping_address": "x" * 501, "payment_method": "card"}, "shipping_address", None),  # too long
    ({"shipping_address": "1 Main St", "payment_method": "c" * 51}, "payment_method", None),
    ({"shipping_address": 12, "payment_method": "card"}, "shipping_address", "Not a valid string."),
    ({"shipping_address": "1 Main St", "payment_method": "card", "status": "paid"}, "status", "Unknown field."),
])
def test_bad_checkout_input_is_a_400_naming_the_field(customer_app, make_product, add_to_cart, body, field,
                                                      message, count_orders):
    add_to_cart(customer_app.user_id, make_product(), 1)
    errors = customer_app.post_json("/api/orders/checkout/", body, status=400).json["errors"]
    assert {error["field"] for error in errors} == {field}
    if message is not None:
        assert message in [error["message"] for error in errors]
    assert count_orders() == 0


def test_a_null_character_is_a_400_not_a_database_error(customer_app, make_product, add_to_cart, count_orders):
    add_to_cart(customer_app.user_id, make_product(), 1)
    body = {"shipping_address": "1 Main St\u0000", "payment_method": "card"}
    response = customer_app.post_json("/api/orders/checkout/", body, status=400)
    assert response.json["errors"] == [{"field": "shipping_address", "message": "Null characters are not allowed."}]
    assert count_orders() == 0


def test_a_non_json_body_is_refused(customer_app):
    customer_app.post("/api/orders/checkout/", "shipping_address=x", content_type="text/plain", status=415)
    customer_app.post("/api/orders/checkout/", "{", content_type="application/json", status=400)


# --- the decision hooks -----------------------------------------------------------------------------

def test_price_adjustments_are_copied_into_the_order(customer_app, make_product, add_to_cart, shop_details,
                                                     register_extension):
    register_extension(PRICE_ADJUSTMENTS, lambda request, cart: [
        Adjustment("Spring sale", -(cart.subtotal / 4).quantize(Decimal("0.01")), source="test")])
    add_to_cart(customer_app.user_id, make_product(name="Desk lamp", price="12.50", stock=5), 2)
    order = customer_app.post_json("/api/orders/checkout/", shop_details, status=201).json
    assert order["adjustments"] == [{"label": "Spring sale", "amount": "-6.25"}]
    assert (order["subtotal"], order["total_price"]) == ("25.00", "18.75")
    assert customer_app.get(f"/api/orders/{order['id']}/").json["total_price"] == "18.75"


def test_a_checkout_validator_refuses_with_a_409_and_nothing_changes(
        customer_app, make_product, add_to_cart, shop_details, stock_of, cart_of, count_orders, register_extension):
    lamp = make_product(name="Desk lamp", stock=5)
    add_to_cart(customer_app.user_id, lamp, 2)
    seen = []

    def expired_coupon(request, cart):
        seen.append([(line.product_id, line.quantity) for line in cart.lines])
        raise CheckoutRefused("The coupon SPRING has expired.")

    register_extension(CHECKOUT_VALIDATORS, expired_coupon)
    response = customer_app.post_json("/api/orders/checkout/", shop_details, status=409)
    assert response.json == {"detail": "The coupon SPRING has expired."}
    assert seen == [[(lamp, 2)]]
    assert (stock_of(lamp), cart_of(customer_app.user_id), count_orders()) == (5, [(lamp, 2)], 0)


def test_order_placed_hook_runs_in_the_transaction_with_the_order(
        customer_app, make_product, add_to_cart, shop_details, register_extension):
    recorded = []

    def record(request, order, cart):
        line_count = request.dbsession.scalar(
            select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order.id))
        recorded.append((order.id, order.user_id, order.total_price, line_count, cart.subtotal))

    register_extension(ORDER_PLACED, record)
    add_to_cart(customer_app.user_id, make_product(price="3.00"), 3)
    order = customer_app.post_json("/api/orders/checkout/", shop_details, status=201).json
    assert recorded == [(order["id"], customer_app.user_id, Decimal("9.00"), 1, Decimal("9.00"))]


def test_a_hook_that_breaks_fails_the_checkout_with_a_bare_503_and_rolls_back(
        customer_app, make_product, add_to_cart, shop_details, stock_of, cart_of, count_orders, register_extension):
    lamp = make_product(stock=5)
    add_to_cart(customer_app.user_id, lamp, 1)

    def broken(request, order, cart):
        raise RuntimeError("secret-internal-detail")

    register_extension(ORDER_PLACED, broken)
    response = customer_app.post_json("/api/orders/checkout/", shop_details, status=503)
    assert response.json["detail"] == "Placing the order is temporarily unavailable; try again shortly."
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert (stock_of(lamp), cart_of(customer_app.user_id), count_orders()) == (5, [(lamp, 1)], 0)


# --- fixed query count ------------------------------------------------------------------------------

def test_checkout_makes_the_same_queries_whatever_its_number_of_lines(
        customer_app, make_product, add_to_cart, shop_details, count_queries):
    def queries_for_checkout_of(lines: int) -> list[str]:
        for index in range(lines):
            add_to_cart(customer_app.user_id, make_product(name=f"Item {lines}-{index}", price="2.00"), 2)
        with count_queries() as statements:
            order = customer_app.post_json("/api/orders/checkout/", shop_details, status=201).json
        assert len(order["items"]) == lines
        return statements

    # The first authenticated request after the test's Redis flush copies the revocation record back
    # into Redis (docs/accounts.md); made here, so both checkouts are measured in the steady state.
    customer_app.get("/api/cart/")
    one, many = queries_for_checkout_of(1), queries_for_checkout_of(8)
    assert len(one) == len(many)

    def statements_starting(prefix: str) -> int:
        return sum(statement.lstrip().startswith(prefix) for statement in many)

    # eight lines: still one conditional stock UPDATE and one multi-row INSERT of lines
    assert statements_starting("UPDATE catalog_products") == 1
    assert statements_starting("INSERT INTO orders_lines") == 1
    assert statements_starting("SELECT cart_items") == 1
    assert statements_starting("DELETE FROM cart_items") == 1


def test_the_stock_is_taken_last_right_before_the_commit(customer_app, make_product, add_to_cart, shop_details,
                                                         shopcore_engine):
    """The products' row locks (PostgreSQL) are held from the stock UPDATE to the commit only: the order,
    its lines, the emptied cart and the mail's outbox row are all written before it."""
    for index in range(3):
        add_to_cart(customer_app.user_id, make_product(name=f"Hot item {index}", stock=10), 1)
    sent: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        sent.append(" ".join(statement.split())[:60])

    event.listen(shopcore_engine, "before_cursor_execute", record)
    try:
        customer_app.post_json("/api/orders/checkout/", shop_details, status=201)
    finally:
        event.remove(shopcore_engine, "before_cursor_execute", record)
    stock = [index for index, statement in enumerate(sent) if statement.startswith("UPDATE catalog_products")]
    assert len(stock) == 1, sent
    # The request's commit is the release of its savepoint in the test's transaction.
    assert sent[stock[0] + 1].startswith("RELEASE SAVEPOINT"), sent
    before = sent[:stock[0]]
    for written in ("INSERT INTO orders_orders", "INSERT INTO orders_lines", "DELETE FROM cart_items",
                    "INSERT INTO core_outbox"):
        assert any(statement.startswith(written) for statement in before), (written, sent)


def test_the_order_placed_mail_is_made_of_the_order_as_stored(customer_app, make_product, add_to_cart,
                                                              shop_details, shopcore_registry, make_request):
    """While `OrderPlaced` is handled, `order_summary` answers from the order just built (no query);
    it is the same summary a later read of the stored order gives."""
    add_to_cart(customer_app.user_id, make_product(name="Lamp", price="12.50", stock=5), 2)
    add_to_cart(customer_app.user_id, make_product(name="Desk", price="99.99", stock=5), 1)
    summaries = []
    subscriber = (OrderPlaced, False,
                  lambda request, event: summaries.append(request.find_service(OrderService)
                                                          .order_summary(event.order_id)))
    subscribers = shopcore_registry.setdefault("shopcore.event_subscribers", [])
    subscribers.append(subscriber)
    try:
        order = customer_app.post_json("/api/orders/checkout/", shop_details, status=201).json
    finally:
        subscribers.remove(subscriber)
    with make_request() as request:
        stored = request.find_service(OrderService).order_summary(order["id"])
    assert summaries == [stored]
