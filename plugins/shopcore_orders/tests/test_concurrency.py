"""Real concurrency: many clients at once over HTTP, each request its own connection and transaction.

The server runs in this process on 127.0.0.1 (the `live_server` fixture) and commits for real;
PostgreSQL gets 24 clients at once, SQLite 8 (it runs one writing transaction at a time).
"""
import threading

from sqlalchemy import func, select

from shopcore_orders.api import CHECKOUT_VALIDATORS

from shopcore_orders.events import OrderCancelled, OrderPaid
from shopcore_orders.models import Order, OrderLine

CHECKOUT = "/api/orders/checkout/"
IN_FLIGHT = "A request with this Idempotency-Key is still being processed; retry once it has finished."


def test_clients_racing_for_the_last_units_never_oversell(live_server, committed, concurrency, run_together,
                                                          shop_details):
    units = 5
    product = committed.product("Last lamps", price="20.00", stock=units)
    buyers = [committed.user(f"buyer{i}") for i in range(concurrency)]
    for user_id, _token in buyers:
        committed.add_to_cart(user_id, product, 1)

    results = run_together(concurrency, lambda i: live_server.request("POST", CHECKOUT, buyers[i][1], shop_details))

    assert sorted(status for status, _body, _headers in results) == [201] * units + [409] * (concurrency - units)
    refusals = {body["detail"] for status, body, _headers in results if status == 409}
    assert refusals == {f"Not enough stock for 'Last lamps' (product {product}): 0 available, 1 in the cart."}
    assert committed.stock(product) == 0
    assert committed.scalar(select(func.count()).select_from(Order)) == units
    assert committed.scalar(select(func.sum(OrderLine.quantity)).where(OrderLine.product_id == product)) == units


def test_pay_and_cancel_racing_on_one_order_leave_exactly_one_applied(
        live_server, committed, concurrency, run_together, shop_details, order_events):
    product = committed.product("Racing lamp", stock=30)
    user_id, token = committed.user("racer")
    for _round in range(3):
        committed.add_to_cart(user_id, product, 2)
        status, order, _headers = live_server.request("POST", CHECKOUT, token, shop_details)
        assert status == 201
        actions = ["pay" if i % 2 else "cancel" for i in range(concurrency)]

        results = run_together(concurrency, lambda i: live_server.request(
            "POST", f"/api/orders/{order['id']}/{actions[i]}/", token))

        winners = [actions[i] for i, (status, _body, _headers) in enumerate(results) if status == 200]
        assert len(winners) == 1, results
        assert sorted(status for status, _body, _headers in results) == [200] + [409] * (concurrency - 1)
        final = live_server.request("GET", f"/api/orders/{order['id']}/", token)[1]["status"]
        assert final == {"pay": "paid", "cancel": "cancelled"}[winners[0]]
        for action, (status, body, _headers) in zip(actions, results):
            if status == 409:  # each loser names the state the winner left
                target = {"pay": "paid", "cancel": "cancelled"}[action]
                assert body["detail"] == f"Order {order['id']} is {final}; it cannot become {target}."
        applied = [event for event in order_events
                   if isinstance(event, (OrderPaid, OrderCancelled)) and event.order_id == order["id"]]
        assert [(type(event), event.user_id) for event in applied] == [
            (OrderPaid if final == "paid" else OrderCancelled, user_id)]
    paid = sum(isinstance(event, OrderPaid) for event in order_events)
    # every cancelled order gave its 2 units back, every paid one kept them
    assert committed.stock(product) == 30 - 2 * paid


def test_the_same_key_sent_at_once_places_one_order(live_server, committed, concurrency, run_together,
                                                    shop_details):
    user_id, token = committed.user("impatient")
    product = committed.product("Lamp", stock=50)
    committed.add_to_cart(user_id, product, 2)

    results = run_together(concurrency, lambda i: live_server.request(
        "POST", CHECKOUT, token, shop_details, headers={"Idempotency-Key": "pay-once"}))

    created = [(body, headers) for status, body, headers in results if status == 201]
    originals = [body for body, headers in created if headers.get("Idempotent-Replayed") != "true"]
    assert len(originals) == 1
    assert all(body == originals[0] for body, _headers in created)
    assert all(status == 409 and body["detail"] == IN_FLIGHT for status, body, _headers in results if status != 201)
    assert committed.scalar(select(func.count()).select_from(Order)) == 1
    assert committed.stock(product) == 48


def test_a_request_arriving_while_the_first_with_its_key_runs(live_server, committed, register_extension,
                                                              shop_details, shopcore_engine):
    """PostgreSQL answers the second request 409 at once; SQLite, one writer at a time, makes it wait
    for the first and then replays the first's response. Either way one order is placed."""
    user_id, token = committed.user("doubleclick")
    committed.add_to_cart(user_id, committed.product("Lamp", stock=5), 1)
    first_inside, second_answered = threading.Event(), threading.Event()

    def hold_the_first_checkout(request, cart):
        first_inside.set()
        second_answered.wait(timeout=3)

    register_extension(CHECKOUT_VALIDATORS, hold_the_first_checkout)
    key = {"Idempotency-Key": "double-click"}
    first: list = []
    thread = threading.Thread(target=lambda: first.append(
        live_server.request("POST", CHECKOUT, token, shop_details, headers=key)))
    thread.start()
    assert first_inside.wait(timeout=10)
    second = live_server.request("POST", CHECKOUT, token, shop_details, headers=key)
    second_answered.set()
    thread.join(timeout=30)

    (first_status, first_body, first_headers), = first
    assert first_status == 201 and "Idempotent-Replayed" not in first_headers
    if shopcore_engine.dialect.name == "postgresql":
        assert second[:2] == (409, {"detail": IN_FLIGHT, "errors": [
            {"field": "Idempotency-Key", "message": "A request with this key is in progress."}]})
    else:
        assert second[:2] == (201, first_body) and second[2]["Idempotent-Replayed"] == "true"
    assert committed.scalar(select(func.count()).select_from(Order)) == 1
