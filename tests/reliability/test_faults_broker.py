"""The broker cut off for real during a checkout, then back: the checkout answers 201 at once and the
order mail goes out once the broker is reachable again (the outbox and its relay).

Web and worker reach RabbitMQ through a TCP proxy the test controls, with one configuration, as
they would in production. The messaging and notifications suites prove the rest of the pipeline
against both brokers: `tests/messaging/test_broker.py` (relay after an outage, dedup, dead letters)
and `plugins/shopcore_notifications/tests/test_delivery.py` (mail after an outage, worker killed
before its ack, SIGTERM).
"""
from __future__ import annotations

import json
import time
from urllib.parse import urlparse

import webtest
from sqlalchemy import select

from shopcore.messaging.models import DONE, PENDING, OutboxMessage
from shopcore.testing.messaging import WorkerThread, wait_until
from shopcore.testing import request_context, require_service
from shopcore_catalog.api import CatalogService

CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}


def outbox(registry) -> list[OutboxMessage]:
    with registry["shopcore.dbsession_factory"]() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_with_the_broker_down_checkout_answers_201_and_the_order_mail_follows_when_it_is_back(
        messaging_app, smtp_server, tcp_proxy, fast_settings, seed_checkout_possible):
    broker = urlparse(require_service("SHOPCORE_TEST_BROKER_URL"))
    proxy = tcp_proxy(broker.hostname, broker.port or 5672)
    proxied = broker._replace(netloc=f"{broker.username}:{broker.password}@127.0.0.1:{proxy.port}").geturl()
    web = messaging_app(**{"shopcore.broker_url": proxied, **smtp_server.settings(),
                           "shopcore.tax.default_country": fast_settings["shopcore.tax.default_country"]})
    seed_checkout_possible(web)
    app = webtest.TestApp(web["shopcore.test_wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    from shopcore.accounts.services import create_user
    from shopcore.accounts.tokens import issue_token_pair

    with request_context(web) as request:
        user = create_user(request, username="buyer", email="buyer@example.com", password="correct horse battery")
        token = issue_token_pair(request, user)["access"]
        product = request.find_service(CatalogService).create_product("Desk lamp", "12.50", stock=5).id
    headers = {"Authorization": f"Bearer {token}"}
    app.post_json("/api/cart/items/", {"product": product, "quantity": 2}, headers=headers, status=201)

    proxy.refuse()  # the broker is down: connections refused, the open ones cut
    started = time.monotonic()
    order = app.post("/api/orders/checkout/", json.dumps(CHECKOUT), content_type="application/json",
                     headers=headers, status=201).json
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"checkout waited {elapsed:.2f} s for a broker that is down"
    assert app.get(f"/api/orders/{order['id']}/", headers=headers).json["status"] == "pending"
    waiting = [row for row in outbox(web) if row.status == PENDING]
    assert waiting, "the order mail must wait in the outbox"
    time.sleep(0.5)
    assert smtp_server.messages == []

    proxy.restore()  # the broker is back: the worker's relay publishes what waited, the worker sends it
    with WorkerThread(web):
        wait_until(lambda: any(f"order #{order['id']} is placed" in message["Subject"]
                               for message in smtp_server.messages),
                   timeout=30, what="the order mail after the broker came back")
        wait_until(lambda: all(row.status == DONE for row in outbox(web)), timeout=15,
                   what="every outbox row to be done")
    placed = [message for message in smtp_server.messages if "is placed" in message["Subject"]]
    assert len(placed) == 1
    assert placed[0]["To"] == "buyer@example.com"
