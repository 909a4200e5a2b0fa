"""Webhook deliveries end to end, over RabbitMQ and Redis, to real HTTP receivers in the test process:
signed, the same delivery id on every try, retried through failures and hangs, nothing lost while the
broker or the receiver is down, nothing delivered twice under another id."""
from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict

from sqlalchemy import select, text

from shopcore.messaging.relay import relay_once
from shopcore.testing import request_context
from shopcore.testing.messaging import WorkerThread, wait_until
from shopcore_apps.models import FAILED, PENDING, SUCCEEDED, WebhookDelivery
from shopcore_apps.signing import verify
from shopcore_apps.testing import start_webhook_receiver
from shopcore_apps.webhooks import WebhookService
from shopcore_catalog.api import CatalogService

DEAD_BROKERS = {"rabbitmq": "amqp://guest:guest@127.0.0.1:1//", "redis": "redis://127.0.0.1:1/0"}
FAST = {"shopcore.apps.webhook_retry_base": "0.05", "shopcore.apps.webhook_retry_max": "0.2",
        "shopcore.apps.webhook_retry_jitter": "0.1", "shopcore.apps.webhook_timeout": "1"}


def shop(messaging_app, broker_url, **settings):
    return messaging_app(**{"shopcore.broker_url": broker_url, **FAST, **settings})


def subscribe(registry, url, events=("product.*",), secret="s3cret-s3cret-s3cret"):
    with request_context(registry) as request:
        return WebhookService(request, None).create({"url": url, "events": list(events), "secret": secret})


def make_products(registry, count=1, prefix="Lamp"):
    with request_context(registry) as request:
        catalog = request.find_service(CatalogService)
        return [catalog.create_product(f"{prefix} {uuid.uuid4().hex[:6]} {n}", "9.99", stock=3).id
                for n in range(count)]


def deliveries(registry):
    with registry["shopcore.dbsession_factory"]() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def test_a_delivery_is_signed_posted_once_and_logged(messaging_app, broker_url, webhook_receiver):
    registry = shop(messaging_app, broker_url)
    secret = subscribe(registry, webhook_receiver.url)["secret"]
    started = time.monotonic()
    [product] = make_products(registry)
    request_time = time.monotonic() - started
    assert webhook_receiver.received == []  # the request only wrote the delivery and its job
    with WorkerThread(registry):
        [got] = webhook_receiver.wait_for(1)
        wait_until(lambda: deliveries(registry)[0].status == SUCCEEDED, what="the delivery to be recorded")
    body = json.loads(got.body)
    assert body["event"] == "product.created" and body["data"]["product_id"] == product
    assert body["data"]["price"] == "9.99"
    [delivery] = deliveries(registry)
    assert got.headers["x-shopcore-event"] == "product.created"
    assert got.headers["x-shopcore-delivery"] == str(delivery.id)
    assert got.headers["content-type"] == "application/json"
    assert verify(secret, got.headers["x-shopcore-signature"], got.headers["x-shopcore-timestamp"], got.body)
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (1, 200, None)
    print(f"request emitting the event took {request_time * 1000:.0f} ms")


def test_a_receiver_that_fails_hangs_and_recovers_gets_the_same_delivery_id_on_every_try(
        messaging_app, broker_url, webhook_receiver):
    registry = shop(messaging_app, broker_url)
    subscribe(registry, webhook_receiver.url)
    webhook_receiver.fail(2, status=503)
    webhook_receiver.hang(1)
    webhook_receiver.fail(1, status=302)  # a redirect is a failure, never followed
    make_products(registry)
    with WorkerThread(registry):
        webhook_receiver.wait_for(1, timeout=30)
        wait_until(lambda: deliveries(registry)[0].status == SUCCEEDED, what="the delivery to succeed")
    tries = webhook_receiver.received
    assert [t.answered for t in tries] == [503, 503, None, 302, 200]
    assert len({t.headers["x-shopcore-delivery"] for t in tries}) == 1
    assert len({t.body for t in tries}) == 1  # the same body, signed anew on each try
    [delivery] = deliveries(registry)
    assert delivery.attempts == 5 and delivery.status == SUCCEEDED


def test_nothing_is_lost_while_the_broker_is_down(messaging_app, broker_url, webhook_receiver, request):
    dead = DEAD_BROKERS[request.node.callspec.params["broker_url"]]
    web = shop(messaging_app, dead)
    subscribe(web, webhook_receiver.url)
    started = time.monotonic()
    products = make_products(web, 3)
    assert time.monotonic() - started < 6
    assert [d.status for d in deliveries(web)] == [PENDING] * 3
    assert relay_once(web).left == 3  # still down: kept, not published
    worker = shop(messaging_app, broker_url)  # the broker is back, as the worker's configuration sees it
    with WorkerThread(worker):
        webhook_receiver.wait_for(3)
        wait_until(lambda: all(d.status == SUCCEEDED for d in deliveries(web)), what="every delivery")
    assert sorted(json.loads(t.body)["data"]["product_id"] for t in webhook_receiver.received) == sorted(products)


def test_nothing_is_lost_while_the_receiver_is_down_and_nothing_comes_twice_under_another_id(
        messaging_app, broker_url):
    receiver = start_webhook_receiver()
    port = receiver.server.server_address[1]
    url = receiver.url
    receiver.stop()  # down: connections are refused
    registry = shop(messaging_app, broker_url, shopcore__apps__webhook_max_attempts="50")
    subscribe(registry, url)
    subscribe(registry, url, events=("product.created",), secret="another-secret-1234")
    made = make_products(registry, 4)
    try:
        with WorkerThread(registry):
            wait_until(lambda: all(d.attempts >= 2 for d in deliveries(registry)), timeout=30,
                       what="every delivery to have failed twice")
            receiver = start_webhook_receiver(port)  # back up, on the same address
            receiver.wait_for(8, timeout=30)
            wait_until(lambda: all(d.status == SUCCEEDED for d in deliveries(registry)), what="every delivery")
            time.sleep(0.5)  # a duplicate, were there one, would arrive now
    finally:
        receiver.stop()
    by_event = defaultdict(set)
    for item in receiver.received:
        body = json.loads(item.body)
        by_event[(body["id"], item.headers["x-shopcore-delivery"])].add(item.headers["x-shopcore-delivery"])
    assert len(receiver.received) == 8  # 4 events x 2 subscriptions, each once
    assert len(by_event) == 8
    assert sorted({json.loads(i.body)["data"]["product_id"] for i in receiver.received}) == sorted(made)


def test_after_the_last_try_a_delivery_fails_and_enough_failures_disable_the_subscription_and_mail_the_admins(
        messaging_app, broker_url, webhook_receiver, smtp_server, make_committed_user):
    registry = shop(messaging_app, broker_url, shopcore__apps__webhook_max_attempts="2",
                    shopcore__apps__webhook_disable_after="2", **smtp_server.settings())
    make_committed_user("boss", is_admin=True, email="boss@example.com")
    subscription = subscribe(registry, webhook_receiver.url)
    webhook_receiver.fail(100, status=500)
    make_products(registry, 2)
    with WorkerThread(registry):
        wait_until(lambda: [d.status for d in deliveries(registry)] == [FAILED, FAILED], timeout=30,
                   what="both deliveries to fail for good")
        [mail] = smtp_server.wait_for(1)
    # Written while no worker runs: on SQLite a worker holds the write lock through each try.
    make_products(registry, 1)  # the subscription is off: no delivery is made for it
    assert len(webhook_receiver.received) == 4  # two tries each
    assert mail["To"] == "boss@example.com" and f"#{subscription['id']}" in mail["Subject"]
    with request_context(registry) as request:
        state = WebhookService(request, None).get(subscription["id"])
    assert state["is_active"] is False and "2 deliveries in a row failed" in state["disabled_reason"]
    assert len(deliveries(registry)) == 2


def test_a_redelivery_sends_the_same_delivery_id_and_body_again(messaging_app, broker_url, webhook_receiver):
    registry = shop(messaging_app, broker_url, shopcore__apps__webhook_max_attempts="1")
    subscription = subscribe(registry, webhook_receiver.url)
    webhook_receiver.fail(1)
    make_products(registry)
    with WorkerThread(registry):
        wait_until(lambda: deliveries(registry)[0].status == FAILED, what="the delivery to fail")
        with request_context(registry) as request:
            WebhookService(request, None).redeliver(deliveries(registry)[0].id)
        webhook_receiver.wait_for(1)
        wait_until(lambda: deliveries(registry)[0].status == SUCCEEDED, what="the redelivery to succeed")
    first, second = webhook_receiver.received
    assert first.headers["x-shopcore-delivery"] == second.headers["x-shopcore-delivery"]
    assert first.body == second.body
    with request_context(registry) as request:
        log = WebhookService(request, None).deliveries(subscription["id"])["results"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [("succeeded", 2, 200)]


def test_during_a_rotation_both_secrets_sign_and_afterwards_only_the_new_one(messaging_app, broker_url,
                                                                               webhook_receiver):
    registry = shop(messaging_app, broker_url)
    subscription = subscribe(registry, webhook_receiver.url, secret="old-secret-0123456789")
    with request_context(registry) as request:
        rotated = WebhookService(request, None).rotate_secret(subscription["id"], {"overlap_seconds": 3600})
    new = rotated["secret"]
    make_products(registry)
    with WorkerThread(registry):
        [got] = webhook_receiver.wait_for(1)
    # Written while no worker runs: on SQLite a worker holds the write lock through each try.
    with request_context(registry) as request:
        WebhookService(request, None).rotate_secret(subscription["id"], {"overlap_seconds": 0})
    with registry["shopcore.dbsession_factory"]() as session, session.begin():
        newest = session.execute(text("SELECT secret FROM apps_webhook_subscriptions")).scalar_one()
    make_products(registry)
    with WorkerThread(registry):
        _, later = webhook_receiver.wait_for(2)
    header, timestamp = got.headers["x-shopcore-signature"], got.headers["x-shopcore-timestamp"]
    assert header.count("sha256=") == 2
    assert verify(new, header, timestamp, got.body) and verify("old-secret-0123456789", header, timestamp, got.body)
    later_header = later.headers["x-shopcore-signature"]
    assert later_header.count("sha256=") == 1
    assert verify(newest, later_header, later.headers["x-shopcore-timestamp"], later.body)
    assert not verify(new, later_header, later.headers["x-shopcore-timestamp"], later.body)
