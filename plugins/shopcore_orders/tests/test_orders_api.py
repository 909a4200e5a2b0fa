"""Orders after checkout: history and detail, changes, the state machine, events and the per-user cache."""
from decimal import Decimal

import pytest

from shopcore_orders.api import OrderService
from shopcore_orders.events import (OrderCancelled, OrderDelivered, OrderEventLine, OrderPaid, OrderPlaced,
                                    OrderShipped)


# --- list and detail -----------------------------------------------------------------------------------

def test_the_list_is_the_callers_orders_newest_first(customer_app, other_customer_app, place_order):
    first = place_order(lines={"Lamp": ("12.50", 1)})
    second = place_order(lines={"Chair": ("40.00", 2)})
    place_order(app=other_customer_app)
    body = customer_app.get("/api/orders/", status=200).json
    # Each listed order is its checkout body, plus any fields other plugins add (body extensions).
    results = [{field: order[field] for field in placed} for order, placed in zip(body["results"], (second, first))]
    assert {**body, "results": results} == {"count": 2, "next": None, "previous": None, "results": [second, first]}


def test_the_list_is_paginated_like_the_catalog(customer_app, place_order):
    orders = [place_order(lines={f"Item {index}": ("1.00", 1)}) for index in range(5)]
    newest_first = [order["id"] for order in reversed(orders)]
    page1 = customer_app.get("/api/orders/?page_size=2").json
    assert (page1["count"], page1["previous"]) == (5, None)
    assert page1["next"] == "http://localhost/api/orders/?page_size=2&page=2"
    assert [order["id"] for order in page1["results"]] == newest_first[:2]
    page3 = customer_app.get("/api/orders/?page_size=2&page=3").json
    assert [order["id"] for order in page3["results"]] == newest_first[4:]
    assert (page3["next"], page3["previous"]) == (None, "http://localhost/api/orders/?page_size=2&page=2")
    assert customer_app.get("/api/orders/?page=9", status=404).json == {"detail": "Invalid page."}
    assert customer_app.get("/api/orders/?page_size=101", status=400).json["errors"][0]["field"] == "page_size"


def cache_key_count(registry) -> int:
    url = registry.settings["shopcore.redis_url"]
    if url:
        import redis

        with redis.Redis.from_url(url) as client:
            return client.dbsize()
    return len(registry["shopcore.cache_region"].actual_backend)


def test_the_list_keys_and_links_never_take_the_host_header(customer_app, admin_app, place_order, shopcore_registry):
    for index in range(3):
        place_order(lines={f"Item {index}": ("1.00", 1)})
    for app in (customer_app, admin_app):
        page = app.get("/api/orders/?page_size=1&page=2", headers={"Host": "evil.example"}).json
        assert (page["previous"], page["next"]) == ("http://localhost/api/orders/?page_size=1",
                                                    "http://localhost/api/orders/?page_size=1&page=3")
    entries = cache_key_count(shopcore_registry)
    for number in range(300):
        app = (customer_app, admin_app)[number % 2]
        page = app.get("/api/orders/?page_size=1&page=2", headers={"Host": f"h{number}.evil.example"})
        assert b"evil" not in page.body
    assert cache_key_count(shopcore_registry) == entries


def test_an_empty_history_is_an_empty_page(customer_app):
    assert customer_app.get("/api/orders/").json == {"count": 0, "next": None, "previous": None, "results": []}


def test_admins_see_everyones_orders_and_filter_by_status_and_user(
        customer_app, other_customer_app, admin_app, place_order):
    mine = place_order()
    theirs = place_order(app=other_customer_app)
    customer_app.post(f"/api/orders/{mine['id']}/pay/", status=200)

    def ids(query=""):
        return [order["id"] for order in admin_app.get(f"/api/orders/{query}").json["results"]]

    assert ids() == [theirs["id"], mine["id"]]
    assert ids("?status=paid") == [mine["id"]]
    assert ids("?status=pending") == [theirs["id"]]
    assert ids(f"?user={other_customer_app.user_id}") == [theirs["id"]]
    assert ids(f"?user={other_customer_app.user_id}&status=paid") == []
    assert admin_app.get("/api/orders/?status=lost", status=400).json["errors"][0]["field"] == "status"


def test_a_customer_cannot_list_someone_elses_orders_with_the_user_filter(
        customer_app, other_customer_app, place_order):
    place_order(app=other_customer_app)
    assert customer_app.get(f"/api/orders/?user={other_customer_app.user_id}").json["results"] == []


def test_detail_of_ones_own_order(customer_app, place_order):
    order = place_order()
    assert customer_app.get(f"/api/orders/{order['id']}/", status=200).json == order


def test_someone_elses_order_is_a_404_everywhere(customer_app, other_customer_app, place_order, stock_of):
    theirs = place_order(app=other_customer_app)
    base = f"/api/orders/{theirs['id']}"
    not_found = {"detail": "Order not found."}
    assert customer_app.get(f"{base}/", status=404).json == not_found
    assert customer_app.patch_json(f"{base}/update/", {"shipping_address": "Mine now"}, status=404).json == not_found
    assert customer_app.post(f"{base}/cancel/", status=404).json == not_found
    assert customer_app.post(f"{base}/pay/", status=404).json == not_found
    assert other_customer_app.get(f"{base}/").json["status"] == "pending"


def test_admins_may_read_any_order(admin_app, place_order):
    order = place_order()
    assert admin_app.get(f"/api/orders/{order['id']}/").json == order


@pytest.mark.parametrize("path", ["/api/orders/0/", "/api/orders/abc/", "/api/orders/99999999999/"])
def test_a_bad_order_id_is_a_400(customer_app, path):
    assert customer_app.get(path, status=400).json["errors"][0]["field"] == "id"


def test_an_unknown_order_is_a_404(customer_app):
    customer_app.get("/api/orders/424242/", status=404)
    customer_app.post("/api/orders/424242/pay/", status=404)


# --- changing a pending order ----------------------------------------------------------------------

def test_a_pending_order_takes_a_new_address_and_payment_method(customer_app, place_order):
    order = place_order()
    changed = customer_app.patch_json(f"/api/orders/{order['id']}/update/",
                                      {"shipping_address": " 9 Elm St ", "payment_method": "paypal"}, status=200).json
    assert (changed["shipping_address"], changed["payment_method"]) == ("9 Elm St", "paypal")
    assert changed["updated_at"] > order["updated_at"]
    assert {k: v for k, v in changed.items() if k not in ("shipping_address", "payment_method", "updated_at")} == \
        {k: v for k, v in order.items() if k not in ("shipping_address", "payment_method", "updated_at")}
    assert customer_app.get(f"/api/orders/{order['id']}/").json == changed


@pytest.mark.parametrize("body, field", [
    ({}, "body"), ({"status": "paid"}, "status"), ({"total_price": "0.01"}, "total_price"),
    ({"shipping_address": ""}, "shipping_address"), ({"payment_method": 5}, "payment_method"),
])
def test_only_the_address_and_payment_method_can_change(customer_app, place_order, body, field):
    order = place_order()
    errors = customer_app.patch_json(f"/api/orders/{order['id']}/update/", body, status=400).json["errors"]
    assert {error["field"] for error in errors} == {field}
    assert customer_app.get(f"/api/orders/{order['id']}/").json == order


def test_a_paid_order_can_no_longer_change(customer_app, place_order):
    order = place_order()
    customer_app.post(f"/api/orders/{order['id']}/pay/")
    response = customer_app.patch_json(f"/api/orders/{order['id']}/update/", {"payment_method": "cash"}, status=409)
    assert response.json == {"detail": f"Order {order['id']} is paid; only a pending order can be changed.",
                             "errors": [{"field": "status", "message": "The order is paid."}]}


# --- the state machine -------------------------------------------------------------------------------

def test_pay_marks_a_pending_order_paid(customer_app, place_order, order_events):
    order = place_order()
    assert customer_app.post(f"/api/orders/{order['id']}/pay/", status=200).json == {"detail": "Payment successful."}
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "paid"
    lines = tuple(OrderEventLine(item["product"], item["quantity"], Decimal(item["price"])) for item in order["items"])
    assert order_events[-1] == OrderPaid(order_id=order["id"], user_id=customer_app.user_id,
                                         total_price=Decimal(order["total_price"]), lines=lines)


def test_cancel_returns_the_stock(customer_app, make_product, add_to_cart, shop_details, stock_of, order_events):
    lamp, chair = make_product(name="Lamp", stock=5), make_product(name="Chair", stock=3)
    add_to_cart(customer_app.user_id, lamp, 2)
    add_to_cart(customer_app.user_id, chair, 3)
    order = customer_app.post_json("/api/orders/checkout/", shop_details, status=201).json
    assert (stock_of(lamp), stock_of(chair)) == (3, 0)
    response = customer_app.post(f"/api/orders/{order['id']}/cancel/", status=200)
    assert response.json == {"detail": "Order cancelled successfully."}
    assert (stock_of(lamp), stock_of(chair)) == (5, 3)
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "cancelled"
    lines = (OrderEventLine(lamp, 2, Decimal("10.00")), OrderEventLine(chair, 3, Decimal("10.00")))
    assert order_events == [OrderPlaced(order["id"], customer_app.user_id, Decimal("50.00"), lines),
                            OrderCancelled(order["id"], customer_app.user_id, Decimal("50.00"), lines)]


def test_fulfilment_runs_paid_shipped_delivered(customer_app, admin_app, place_order, order_events):
    order = place_order()
    customer_app.post(f"/api/orders/{order['id']}/pay/")
    shipped = admin_app.patch_json(f"/api/orders/{order['id']}/status/", {"status": "shipped"}, status=200).json
    assert shipped["status"] == "shipped" and shipped["items"] == order["items"]
    delivered = admin_app.patch_json(f"/api/orders/{order['id']}/status/", {"status": "delivered"}, status=200).json
    assert delivered["status"] == "delivered"
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "delivered"
    user = customer_app.user_id
    assert [(type(event), event.order_id, event.user_id) for event in order_events] == [
        (OrderPlaced, order["id"], user), (OrderPaid, order["id"], user),
        (OrderShipped, order["id"], user), (OrderDelivered, order["id"], user)]
    assert {event.lines for event in order_events} == {order_events[0].lines}


@pytest.mark.parametrize("moves, action, current", [
    ([], ("pay", None), None),  # the one allowed move, as a control
    (["pay"], ("pay", None), "paid"),
    (["pay"], ("cancel", None), "paid"),
    (["cancel"], ("pay", None), "cancelled"),
    (["cancel"], ("cancel", None), "cancelled"),
    ([], ("status", "shipped"), "pending"),
    ([], ("status", "delivered"), "pending"),
    (["pay"], ("status", "delivered"), "paid"),
    (["cancel"], ("status", "shipped"), "cancelled"),
    (["pay", "shipped"], ("status", "shipped"), "shipped"),
    (["pay", "shipped"], ("cancel", None), "shipped"),
    (["pay", "shipped", "delivered"], ("status", "shipped"), "delivered"),
    (["pay", "shipped", "delivered"], ("pay", None), "delivered"),
])
def test_any_other_transition_is_a_409_naming_the_current_state(customer_app, admin_app, place_order, moves,
                                                                action, current):
    order_id = place_order()["id"]

    def do(move, expect):
        if move in ("pay", "cancel"):
            return customer_app.post(f"/api/orders/{order_id}/{move}/", status=expect)
        return admin_app.patch_json(f"/api/orders/{order_id}/status/", {"status": move}, status=expect)

    for move in moves:
        do(move, 200)
    name, target = action
    if current is None:
        do(name, 200)
        return
    response = do(target or name, 409)
    wanted = {"pay": "paid", "cancel": "cancelled"}.get(name, target)
    assert response.json == {"detail": f"Order {order_id} is {current}; it cannot become {wanted}.",
                             "errors": [{"field": "status", "message": f"The order is {current}."}]}
    assert customer_app.get(f"/api/orders/{order_id}/").json["status"] == current


def test_only_admins_move_orders_on(customer_app, place_order):
    order = place_order()
    customer_app.post(f"/api/orders/{order['id']}/pay/")
    response = customer_app.patch_json(f"/api/orders/{order['id']}/status/", {"status": "shipped"}, status=403)
    assert response.json == {"detail": "You do not have permission to perform this action."}


@pytest.mark.parametrize("status", ["paid", "cancelled", "pending", "lost", ""])
def test_the_status_endpoint_takes_only_shipped_or_delivered(admin_app, place_order, status):
    order = place_order()
    response = admin_app.patch_json(f"/api/orders/{order['id']}/status/", {"status": status}, status=400)
    assert response.json["errors"][0]["field"] == "status"


# --- the per-user cache ------------------------------------------------------------------------------

def test_list_and_detail_are_cached_and_every_change_invalidates_them(
        customer_app, place_order, count_queries, admin_app):
    order = place_order()
    base = f"/api/orders/{order['id']}"
    customer_app.get("/api/orders/")
    customer_app.get(f"{base}/")
    with count_queries() as statements:
        assert customer_app.get("/api/orders/").json["results"] == [order]
        assert customer_app.get(f"{base}/").json == order
    assert not [statement for statement in statements if "orders_" in statement]  # served from the cache

    steps = [
        lambda: customer_app.patch_json(f"{base}/update/", {"payment_method": "paypal"}),
        lambda: customer_app.post(f"{base}/pay/"),
        lambda: admin_app.patch_json(f"{base}/status/", {"status": "shipped"}),
        lambda: admin_app.patch_json(f"{base}/status/", {"status": "delivered"}),
    ]
    for step in steps:
        step()
        listed = customer_app.get("/api/orders/").json["results"][0]
        assert listed == customer_app.get(f"{base}/").json == admin_app.get(f"{base}/").json
    assert (listed["payment_method"], listed["status"]) == ("paypal", "delivered")
    assert admin_app.get("/api/orders/?status=delivered").json["results"] == [listed]


def test_a_new_order_and_a_cancellation_show_at_once(customer_app, place_order):
    first = place_order()
    assert customer_app.get("/api/orders/").json["count"] == 1
    second = place_order(lines={"Chair": ("40.00", 1)})
    assert [o["id"] for o in customer_app.get("/api/orders/").json["results"]] == [second["id"], first["id"]]
    customer_app.post(f"/api/orders/{first['id']}/cancel/")
    assert customer_app.get("/api/orders/").json["results"][1]["status"] == "cancelled"


def test_one_customers_cache_never_answers_another(customer_app, other_customer_app, place_order):
    mine = place_order()
    customer_app.get("/api/orders/")
    customer_app.get(f"/api/orders/{mine['id']}/")
    assert other_customer_app.get("/api/orders/").json["results"] == []
    other_customer_app.get(f"/api/orders/{mine['id']}/", status=404)


# --- fixed query count -------------------------------------------------------------------------------

def test_the_list_makes_the_same_queries_whatever_the_number_of_lines(
        customer_app, other_customer_app, place_order, count_queries, shopcore_registry):
    from shopcore.testing import clear_caches

    place_order(lines={"Lamp": ("1.00", 1)})
    place_order(app=other_customer_app, lines={f"Part {index}": ("1.00", 1) for index in range(9)})
    counts = []
    for app in (customer_app, other_customer_app):
        clear_caches(shopcore_registry)
        with count_queries() as statements:
            assert app.get("/api/orders/").json["count"] == 1
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert sum("FROM orders_lines" in statement for statement in statements) == 1


# --- what other plugins call -------------------------------------------------------------------------

def test_order_summary_for_the_notifications_plugin(customer_app, place_order, make_request):
    from decimal import Decimal

    order = place_order(lines={"Lamp": ("12.50", 2)})
    with make_request() as request:
        summary = request.find_service(OrderService).order_summary(order["id"])
    assert summary["id"] == order["id"] and summary["user_id"] == customer_app.user_id
    assert summary["total_price"] == Decimal("25.00") and summary["status"] == "pending"
    item = order["items"][0]
    assert summary["items"] == [{"id": item["id"], "product": item["product"], "product_name": "Lamp", "quantity": 2,
                                 "price": Decimal("12.50"), "variant": item["variant"], "sku": item["sku"],
                                 "options": {}}]
    assert (summary["shipping_address"], summary["payment_method"]) == ("1 Main St, Springfield", "credit_card")
    assert summary["created_at"].isoformat() == order["created_at"]
