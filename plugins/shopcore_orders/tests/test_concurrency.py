"""Real concurrency: many clients at once over HTTP, each request its own connection and transaction."""
from sqlalchemy import func, select

from shopcore_orders.models import Order, OrderLine


def test_clients_racing_for_the_last_units_never_oversell(live_server, committed, concurrency, run_together,
                                                           shop_details):
    units = 5
    product = committed.product("Last lamps", price="20.00", stock=units)
    buyers = [committed.user(f"buyer{i}") for i in range(concurrency)]
    for user_id, _token in buyers:
        committed.add_to_cart(user_id, product, 1)

    results = run_together(concurrency, lambda i: live_server.request(
        "POST", "/api/orders/checkout/", buyers[i][1], shop_details))

    statuses = sorted(status for status, _body, _headers in results)
    assert statuses == [201] * units + [409] * (concurrency - units)
    assert committed.stock(product) == 0
    assert committed.scalar(select(func.count()).select_from(Order)) == units
    assert committed.scalar(select(func.sum(OrderLine.quantity)).where(OrderLine.product_id == product)) == units
