"""End to end through the orders endpoints: checkout, payment, cancellation and shipping each mail the
customer; with the broker down checkout still answers 201 and the mail follows once the relay publishes."""
import time

import pytest
import webtest

from shopcore.messaging.outbox import outbox_status
from shopcore.testing.messaging import WorkerThread, wait_until
from shopcore.testing import request_context
from shopcore_catalog.api import CatalogService

DEAD_BROKERS = {"rabbitmq": "amqp://guest:guest@127.0.0.1:1//", "redis": "redis://127.0.0.1:1/0"}
SHOP_PLUGINS = "catalog cart orders notifications"
CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}


class Shop:
    """Users, products and carts with real commits, and HTTP as a given user."""

    def __init__(self, registry):
        self.registry = registry
        self.app = webtest.TestApp(registry["shopcore.test_wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    def user(self, username: str, is_admin: bool = False) -> dict:
        from shopcore.accounts.services import create_user
        from shopcore.accounts.tokens import issue_token_pair

        with request_context(self.registry) as request:
            user_id = create_user(request, username=username, email=f"{username}@example.com",
                                  password="correct horse battery staple", is_admin=is_admin).id
        with request_context(self.registry) as request:
            return {"Authorization": f"Bearer {issue_token_pair(request, user_id)['access']}"}

    def fill_cart(self, headers: dict, lines: dict) -> None:
        with request_context(self.registry) as request:
            catalog = request.find_service(CatalogService)
            ids = {name: catalog.create_product(name, price, stock=10).id for name, (price, _q) in lines.items()}
        for name, (_price, quantity) in lines.items():
            self.app.post_json("/api/cart/items/", {"product": ids[name], "quantity": quantity},
                               headers=headers, status=201)

    def checkout(self, headers: dict) -> dict:
        return self.app.post_json("/api/orders/checkout/", CHECKOUT, headers=headers, status=201).json


@pytest.fixture
def shop(mail_app):
    return lambda **settings: Shop(mail_app(plugins=SHOP_PLUGINS, **settings))


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def test_checkout_payment_shipping_and_cancellation_each_mail_the_customer(shop, smtp_server):
    shop = shop()
    customer, admin = shop.user("olga"), shop.user("boss", is_admin=True)
    shop.fill_cart(customer, {"Desk lamp": ("12.50", 2), "Chair": ("40.00", 1)})
    order = shop.checkout(customer)
    [placed] = smtp_server.wait_for(1)
    assert placed["To"] == "olga@example.com"
    assert placed["Subject"] == f"Your Test Shop order #{order['id']} is placed"
    text = text_of(placed)
    assert "Desk lamp  2 x 12.50 = 25.00" in text and "Chair  1 x 40.00 = 40.00" in text
    assert "Total: 65.00" in text and "Shipping to: 1 Main St, Springfield" in text

    shop.app.post_json(f"/api/orders/{order['id']}/pay/", {}, headers=customer, status=200)
    shop.app.patch_json(f"/api/orders/{order['id']}/status/", {"status": "shipped"}, headers=admin, status=200)
    shop.fill_cart(customer, {"Rug": ("30.00", 1)})
    second = shop.checkout(customer)
    shop.app.post_json(f"/api/orders/{second['id']}/cancel/", {}, headers=customer, status=200)

    subjects = [m["Subject"] for m in smtp_server.wait_for(5)]
    assert subjects == [
        f"Your Test Shop order #{order['id']} is placed",
        f"Payment received for order #{order['id']}",
        f"Your order #{order['id']} is on its way",
        f"Your Test Shop order #{second['id']} is placed",
        f"Your order #{second['id']} is cancelled",
    ]
    assert {m["To"] for m in smtp_server.messages} == {"olga@example.com"}


def test_a_refused_checkout_sends_nothing(shop, smtp_server):
    shop = shop()
    customer = shop.user("pia")
    shop.app.post_json("/api/orders/checkout/", CHECKOUT, headers=customer, status=400)  # empty cart
    assert outbox_status(shop.registry).pending == 0
    assert smtp_server.messages == []


def test_with_the_broker_down_checkout_answers_201_and_the_mail_follows(shop, smtp_server, broker_url, request):
    dead = DEAD_BROKERS[request.node.callspec.params["broker_url"]]
    web = shop(**{"shopcore.broker_url": dead})
    customer = web.user("quinn")
    web.fill_cart(customer, {"Desk lamp": ("12.50", 1)})
    started = time.monotonic()
    order = web.checkout(customer)
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"checkout took {elapsed:.2f} s with the broker down"
    assert outbox_status(web.registry).pending == 1

    worker = shop(**{"shopcore.broker_url": broker_url})
    with WorkerThread(worker.registry):
        [message] = smtp_server.wait_for(1)
        wait_until(lambda: outbox_status(web.registry).done == 1, what="the mail to be recorded sent")
    assert message["Subject"] == f"Your Test Shop order #{order['id']} is placed"
    print(f"checkout with the broker down: {elapsed * 1000:.0f} ms")


def test_an_unpaid_order_expires_in_the_worker_and_its_customer_gets_one_mail(shop, smtp_server):
    """Issue 21, point 8: the worker's periodic expiry cancels the unpaid order, returns its stock and
    mails the customer through the outbox: the expiry mail, not the customer-cancelled one as well."""
    shop = shop(**{"shopcore.orders.pending_ttl": "1", "shopcore.orders.expire_interval": "0.1"})
    customer = shop.user("rita")
    shop.fill_cart(customer, {"Desk lamp": ("12.50", 2)})
    order = shop.checkout(customer)
    smtp_server.wait_for(1)

    with WorkerThread(shop.registry):
        placed, expired = smtp_server.wait_for(2)
        time.sleep(0.3)  # a few more passes of the task: nothing more may come

    assert expired["Subject"] == f"Your order #{order['id']} was cancelled: it was not paid in time"
    assert "was not paid in time, so we have cancelled it" in text_of(expired)
    assert "Desk lamp  2 x 12.50 = 25.00" in text_of(expired)
    assert len(smtp_server.messages) == 2
    assert shop.app.get(f"/api/orders/{order['id']}/", headers=customer).json["status"] == "cancelled"
    lamp = order["items"][0]["product"]
    with request_context(shop.registry) as request:
        assert request.find_service(CatalogService).get_product(lamp).stock == 10
