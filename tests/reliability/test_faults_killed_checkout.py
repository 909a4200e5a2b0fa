"""A web process killed with SIGKILL in the middle of checkouts leaves, for every customer, either a whole
order (its lines, the stock it took, its mail in the outbox, an empty cart) or nothing at all.

The server is a real process (waitress, real commits) that this test starts and kills. Fault injection
from outside the code under test: the script that starts it registers an `orders.order_placed`
hook, exactly as a plugin would, that reports the order and holds the transaction open for a while, so
the kill lands while a checkout is inside its transaction (and others wait for it).
"""
from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from shopcore.testing.messaging import worker_environment, write_ini
from shopcore.testing import clear_caches, request_context
from shopcore_cart.api import CartService
from shopcore_catalog.api import CatalogService
from shopcore_orders.api import OrderService

HOLD_SECONDS = 3.0
CUSTOMERS = 6
LINES = {"Desk lamp": 2, "Chair": 1, "Rug": 3}
STOCK = 100
CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}

SERVER = """
import sys, time
import waitress
from pyramid.paster import get_appsettings
from shopcore import make_configurator

ini, port, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])

def hold_the_transaction(request, order, cart):
    print(f"in-transaction user={order.user_id} order={order.id}", flush=True)
    time.sleep(hold)

def include(config):
    config.add_extension("orders.order_placed", hold_the_transaction)

app = make_configurator(get_appsettings(ini), environ={}, extra_includes=(include,)).make_wsgi_app()
print("serving", flush=True)
waitress.serve(app, host="127.0.0.1", port=port, threads=8, _quiet=True)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """The shop served by a process of its own; its stdout lines are collected with their arrival time."""

    def __init__(self, ini, port: int):
        self.port = port
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen([sys.executable, "-c", SERVER, str(ini), str(port), str(HOLD_SECONDS)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=worker_environment())
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.rstrip()))

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "server exited:\n" + "\n".join(line for _, line in self.lines)
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.2)
        pytest.fail(f"the server did not answer within {timeout} s")

    def users_in_transaction(self) -> dict[int, float]:
        return {int(line.split()[1].split("=")[1]): at for at, line in self.lines
                if line.startswith("in-transaction")}

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.reader.join(10)
        self.process.stdout.close()


def test_a_web_process_killed_mid_checkout_leaves_whole_orders_or_nothing(
        reliability_registry, shopcore_settings, committed_db, tmp_path, fast_settings, seed_checkout_possible):
    registry = reliability_registry
    seed_checkout_possible(registry)
    # Customers with full carts, committed for real (committed_db empties every table afterwards).
    from shopcore.accounts.services import create_user
    from shopcore.accounts.tokens import issue_token_pair

    with request_context(registry) as request:
        catalog = request.find_service(CatalogService)
        products = {name: catalog.create_product(name, "10.00", stock=STOCK).id for name in LINES}
    customers: dict[int, str] = {}
    for number in range(CUSTOMERS):
        with request_context(registry) as request:
            user = create_user(request, username=f"buyer{number}", email=f"buyer{number}@example.com",
                               password="correct horse battery")
            customers[user.id] = issue_token_pair(request, user)["access"]
        with request_context(registry) as request:
            for name, quantity in LINES.items():
                request.find_service(CartService).add_item(user.id, products[name], quantity)

    ini = write_ini(tmp_path / "server.ini", {**shopcore_settings, **fast_settings,
                                              "shopcore.mail.dir": str(tmp_path / "mail")})
    server = ServerProcess(ini, free_port())
    try:
        server.wait_until_serving()
        answers: dict[int, int | str] = {}

        def check_out(user_id: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            try:
                connection.request("POST", "/api/orders/checkout/", body=json.dumps(CHECKOUT),
                                   headers={"Authorization": f"Bearer {customers[user_id]}",
                                            "Content-Type": "application/json"})
                answers[user_id] = connection.getresponse().status
            except (OSError, http.client.HTTPException) as exc:
                answers[user_id] = type(exc).__name__  # the server died under this request
            finally:
                connection.close()

        clients = [threading.Thread(target=check_out, args=(user_id,)) for user_id in customers]
        # Started one after another across one hold: checkouts take the stock last, so they do not wait
        # for each other inside the hook; staggered, some are still inside when the first is through.
        for client in clients:
            client.start()
            time.sleep(HOLD_SECONDS / CUSTOMERS)
        # Kill once an order is through and another checkout is inside its transaction.
        deadline = time.monotonic() + 60
        while True:
            inside = server.users_in_transaction()
            caught = [user for user in inside if user not in answers]
            if caught and 201 in answers.values():
                break
            assert time.monotonic() < deadline, f"no checkout was caught in its transaction: {answers}"
            time.sleep(0.02)
        killed_at = time.monotonic()
        server.kill()
        for client in clients:
            client.join(30)
            assert not client.is_alive()
    finally:
        server.kill()

    # Caught inside the held transaction: it was still holding when the process died.
    caught = [user for user, at in server.users_in_transaction().items()
              if user in caught and killed_at - at < HOLD_SECONDS - 0.2]
    assert caught, "the kill must land while a checkout holds its transaction"

    clear_caches(registry)
    taken = {name: 0 for name in LINES}
    whole = 0
    with request_context(registry) as request:
        orders, carts = request.find_service(OrderService), request.find_service(CartService)
        mails = outbox_order_ids(request)
        for user_id in customers:
            placed = orders.list_orders(user_id)["results"]
            cart = {line.product_id: line.quantity for line in carts.priced_cart(user_id).lines}
            assert len(placed) <= 1
            if placed:
                [order] = placed
                assert {item["product"]: item["quantity"] for item in order["items"]} == \
                    {products[name]: quantity for name, quantity in LINES.items()}
                assert cart == {}, f"customer {user_id} has an order and still a cart"
                assert mails is None or order["id"] in mails, f"order {order['id']} has no mail in the outbox"
                for name, quantity in LINES.items():
                    taken[name] += quantity
                whole += 1
            else:
                assert cart == {products[name]: quantity for name, quantity in LINES.items()}, \
                    f"customer {user_id} has no order and a changed cart"
                assert answers.get(user_id) != 201, "a 201 was answered for an order that is not there"
            if user_id in caught:
                assert not placed, f"customer {user_id} was killed mid-transaction, yet has an order"
        catalog = request.find_service(CatalogService)
        for name, product_id in products.items():
            assert catalog.get_product(product_id).stock == STOCK - taken[name], name
    assert 1 <= whole < CUSTOMERS
    assert mails is None or len(mails) == whole


def outbox_order_ids(request) -> set[int] | None:
    """Order ids of the order-placed mails in the outbox (waiting or done); None without notifications."""
    from sqlalchemy import select

    from shopcore.messaging.models import OutboxMessage

    if "notifications" not in {manifest.name for manifest in request.registry["shopcore.plugins"]}:
        return None
    rows = request.dbsession.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail.order_placed"))
    return {row.payload["order"]["id"] for row in rows}
