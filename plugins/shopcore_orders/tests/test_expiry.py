"""Unpaid orders expire (issue 21, point 8): a pending order older than `shopcore.orders.pending_ttl`
is cancelled by the shop and its stock returned exactly once, also when a payment races with it.

Before, a pending order held its stock for ever: one customer could sell a product out with orders
they never paid.
"""
import datetime
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update

from shopcore_orders.api import OrderService
from shopcore_orders.commands import expire_orders
from shopcore_orders.events import OrderCancelled, OrderEventLine, OrderExpired, OrderPaid
from shopcore_orders.expiry import expire_pending_orders
from shopcore_orders.models import Order, utcnow

TTL = datetime.timedelta(hours=1)  # the default pending_ttl
CHECKOUT = "/api/orders/checkout/"


@pytest.fixture
def age_order(make_request):
    """`age_order(order_id, by)`: move its checkout back in time."""

    def age(order_id: int, by: datetime.timedelta) -> None:
        with make_request() as request:
            request.dbsession.execute(update(Order).where(Order.id == order_id)
                                      .values(created_at=utcnow() - by).execution_options(synchronize_session=False))

    return age


def status_of(make_request, order_id: int) -> str:
    with make_request() as request:
        return request.dbsession.scalar(select(Order.status).where(Order.id == order_id))


def test_a_pending_order_past_its_time_is_cancelled_and_its_stock_returned_once(
        customer_app, make_product, add_to_cart, shop_details, age_order, stock_of, make_request, shopcore_registry,
        order_events):
    lamp = make_product(name="Lamp", price="12.50", stock=5)
    add_to_cart(customer_app.user_id, lamp, 3)
    old = customer_app.post_json(CHECKOUT, shop_details, status=201).json
    add_to_cart(customer_app.user_id, lamp, 1)
    young = customer_app.post_json(CHECKOUT, shop_details, status=201).json
    assert stock_of(lamp) == 1  # the customer holds 4 of the 5 lamps without paying
    age_order(old["id"], TTL + datetime.timedelta(seconds=5))
    age_order(young["id"], TTL - datetime.timedelta(minutes=1))

    assert expire_pending_orders(shopcore_registry) == [old["id"]]

    assert stock_of(lamp) == 4
    assert (status_of(make_request, old["id"]), status_of(make_request, young["id"])) == ("cancelled", "pending")
    assert customer_app.get(f"/api/orders/{old['id']}/").json["status"] == "cancelled"  # no stale cache
    assert [event for event in order_events if isinstance(event, OrderCancelled)] == [
        OrderExpired(old["id"], customer_app.user_id, total_price=Decimal("37.50"),
                     lines=(OrderEventLine(lamp, 3, Decimal("12.50")),))]
    # Run again (another worker, the admin command): nothing more comes back.
    assert expire_pending_orders(shopcore_registry) == []
    assert stock_of(lamp) == 4
    # The customer can no longer pay it; the seed's 409 names the state.
    response = customer_app.post(f"/api/orders/{old['id']}/pay/", status=409)
    assert response.json["detail"] == f"Order {old['id']} is cancelled; it cannot become paid."
    customer_app.post(f"/api/orders/{old['id']}/cancel/", status=409)
    assert stock_of(lamp) == 4


def test_paid_and_already_cancelled_orders_never_expire(customer_app, place_order, age_order, shopcore_registry,
                                                        make_request):
    paid, cancelled = place_order(), place_order()
    customer_app.post(f"/api/orders/{paid['id']}/pay/", status=200)
    customer_app.post(f"/api/orders/{cancelled['id']}/cancel/", status=200)
    for order in (paid, cancelled):
        age_order(order["id"], datetime.timedelta(days=30))

    assert expire_pending_orders(shopcore_registry) == []
    assert (status_of(make_request, paid["id"]), status_of(make_request, cancelled["id"])) == ("paid", "cancelled")


def test_the_delay_is_a_setting(customer_app, place_order, age_order, shopcore_settings, shopcore_registry):
    from shopcore.testing import make_test_configurator

    order = place_order()
    age_order(order["id"], datetime.timedelta(minutes=10))
    assert expire_pending_orders(shopcore_registry) == []
    settings = {**shopcore_settings, "shopcore.orders.pending_ttl": "300"}
    quick = make_test_configurator(settings, **{key: shopcore_registry[key] for key in
                                                ("shopcore.engine", "shopcore.dbsession_factory")}).registry
    assert expire_pending_orders(quick) == [order["id"]]


def test_a_backlog_is_worked_through_in_batches(customer_app, make_product, add_to_cart, shop_details, age_order,
                                                shopcore_registry, stock_of, monkeypatch):
    import shopcore_orders.expiry as expiry

    monkeypatch.setattr(expiry, "EXPIRY_BATCH", 2)
    import shopcore_orders.services as services

    monkeypatch.setattr(services, "EXPIRY_BATCH", 2)
    lamp = make_product(name="Lamp", stock=10)
    ids = []
    for _ in range(5):
        add_to_cart(customer_app.user_id, lamp, 1)
        ids.append(customer_app.post_json(CHECKOUT, shop_details, status=201).json["id"])
        age_order(ids[-1], TTL * 2)
    assert stock_of(lamp) == 5

    assert expire_pending_orders(shopcore_registry) == ids
    assert stock_of(lamp) == 10


def test_the_admin_command_expires_orders(customer_app, place_order, age_order, shopcore_registry, capsys):
    order = place_order()
    age_order(order["id"], TTL * 2)
    assert "expire-orders" in shopcore_registry["shopcore.admin_commands"]

    assert expire_orders({"registry": shopcore_registry}, None) == 0

    assert capsys.readouterr().out == ("expire-orders: 1 unpaid order(s) older than 1:00:00 cancelled, "
                                       "their stock returned\n")
    assert customer_app.get(f"/api/orders/{order['id']}/").json["status"] == "cancelled"


def test_the_worker_runs_the_expiry_as_a_periodic_task(shopcore_registry):
    from shopcore.messaging.state import PERIODIC_TASKS

    from shopcore_orders.expiry import expire_orders_task

    task, interval = shopcore_registry[PERIODIC_TASKS]["orders.expire"]
    assert (task, interval) == (expire_orders_task, 60.0)


# --- racing a payment (real commits) -------------------------------------------------------------------------

def wait_until_blocked(committed, racer: threading.Thread, timeout: float = 10.0) -> None:
    """Until the racer waits for the first transaction: on PostgreSQL for the order's row lock (seen in
    pg_stat_activity), on SQLite for the write lock (which it cannot show: the racer is given time)."""
    if committed.registry["shopcore.engine"].dialect.name != "postgresql":
        time.sleep(0.5)
        assert racer.is_alive(), "the racer did not wait for the first transaction"
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if committed.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")):
            return
        time.sleep(0.02)
    pytest.fail("the racing transaction never waited for the order's row")


@pytest.mark.parametrize("first", ["pay", "expire"])
def test_expiry_and_payment_racing_for_one_order_apply_exactly_one(
        first, live_server, committed, shop_details, order_events):
    from shopcore.testing import request_context

    product = committed.product("Racing lamp", stock=10)
    user_id, token = committed.user("racer")
    committed.add_to_cart(user_id, product, 3)
    status, order, _headers = live_server.request("POST", CHECKOUT, token, shop_details)
    assert status == 201 and committed.stock(product) == 7
    later = utcnow() + TTL + datetime.timedelta(seconds=1)  # as if the order were past its time
    registry = committed.registry
    second: list = []

    with request_context(registry) as request:
        # The first one updates the order's row and holds its lock until the block commits.
        if first == "pay":
            request.find_service(OrderService).pay(user_id, order["id"])
            racer = threading.Thread(target=lambda: second.append(expire_pending_orders(registry, now=later)))
        else:
            assert request.find_service(OrderService).expire_pending(TTL, now=later) == [order["id"]]
            racer = threading.Thread(target=lambda: second.append(
                live_server.request("POST", f"/api/orders/{order['id']}/pay/", token)))
        racer.start()
        wait_until_blocked(committed, racer)
    racer.join(timeout=30)

    final = committed.scalar(select(Order.status).where(Order.id == order["id"]))
    applied = [type(event) for event in order_events if isinstance(event, (OrderPaid, OrderCancelled))]
    if first == "pay":
        assert second == [[]]  # the expiry re-read the row, found it paid, and left it alone
        assert (final, committed.stock(product), applied) == ("paid", 7, [OrderPaid])
    else:
        [(status, body, _headers)] = second
        assert (status, body["detail"]) == (409, f"Order {order['id']} is cancelled; it cannot become paid.")
        assert (final, committed.stock(product), applied) == ("cancelled", 10, [OrderExpired])


def test_many_payments_and_expiry_runs_at_once_return_each_order_stock_once(
        live_server, committed, concurrency, run_together, shop_details, order_events):
    """Every order ends paid (its unit kept) or expired (its unit back), never both, whatever the
    interleaving of payments and several workers' expiry runs."""
    product = committed.product("Busy lamp", stock=100)
    buyers = [committed.user(f"buyer{i}") for i in range(concurrency)]
    orders = []
    for user_id, token in buyers:
        committed.add_to_cart(user_id, product, 1)
        status, order, _headers = live_server.request("POST", CHECKOUT, token, shop_details)
        assert status == 201
        orders.append(order["id"])
    later = utcnow() + TTL + datetime.timedelta(seconds=1)
    expiry_runs = 3

    def act(index: int):
        if index < expiry_runs:
            return expire_pending_orders(committed.registry, now=later)
        return live_server.request("POST", f"/api/orders/{orders[index - expiry_runs]}/pay/",
                                   buyers[index - expiry_runs][1])

    results = run_together(concurrency + expiry_runs, act)

    expired = sorted(order_id for batch in results[:expiry_runs] for order_id in batch)
    paid = [orders[i] for i, (status, _body, _headers) in enumerate(results[expiry_runs:]) if status == 200]
    assert sorted(expired + paid) == sorted(orders)  # each order exactly once, one way or the other
    assert committed.stock(product) == 100 - len(paid)
    events = sorted((type(event).__name__, event.order_id) for event in order_events
                    if isinstance(event, (OrderPaid, OrderCancelled)))
    assert events == sorted([("OrderExpired", o) for o in expired] + [("OrderPaid", o) for o in paid])
