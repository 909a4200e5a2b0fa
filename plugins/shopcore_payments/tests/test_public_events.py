"""The payments plugin's public events reach webhook subscriptions (the apps plugin): an admin's refund is an
`order.refunded` delivery, a return's request and decision `return.*` ones, sent by the worker to a real
receiver in the test process, over RabbitMQ and Redis; no reason or note is in them."""
from __future__ import annotations

import json

import pytest
import webtest

from shopcore.testing import request_context
from shopcore.testing.messaging import WorkerThread
from shopcore_apps.signing import verify
from shopcore_cart.api import CartService
from shopcore_catalog.api import CatalogService

CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}
SECRET = "refund-hook-secret-123"


@pytest.fixture(scope="module")
def shopcore_plugins() -> list[str]:
    return ["catalog", "cart", "orders", "notifications", "payments", "apps"]


@pytest.fixture(scope="module")
def shopcore_extra_settings() -> dict:
    return {"shopcore.apps.webhook_allow_private_targets": "true"}  # the receiver runs on 127.0.0.1


@pytest.fixture
def messaging_app(messaging_app):
    """The kit's `messaging_app`, whose webhook senders' kept-alive connections are closed after the test."""
    from shopcore_apps.delivery import SENDER

    built = []

    def build(*args, **kwargs):
        built.append(messaging_app(*args, **kwargs))
        return built[-1]

    yield build
    for registry in built:
        registry[SENDER].close()


def test_refunds_and_returns_reach_their_subscribers(messaging_app, broker_url, webhook_receiver,
                                                     make_committed_user, token_for):
    registry = messaging_app(**{"shopcore.broker_url": broker_url})
    app = webtest.TestApp(registry["shopcore.test_wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    customer, admin = make_committed_user("rhea"), make_committed_user("treasurer", is_admin=True)
    as_customer = {"Authorization": f"Bearer {token_for(customer)['access']}"}
    as_admin = {"Authorization": f"Bearer {token_for(admin)['access']}"}
    app.post_json("/api/webhooks/", {"url": webhook_receiver.url, "events": ["order.refunded", "return.*"],
                                     "secret": SECRET}, headers=as_admin, status=201)
    with request_context(registry) as request:
        lamp = request.find_service(CatalogService).create_product("Desk lamp", "12.50", stock=10).id
    with request_context(registry) as request:
        request.find_service(CartService).add_item(customer, lamp, 2)
    order = app.post_json("/api/orders/checkout/", CHECKOUT, headers=as_customer, status=201).json
    app.post(f"/api/orders/{order['id']}/pay/", headers=as_customer, status=200)
    for status in ("shipped", "delivered"):
        app.patch_json(f"/api/orders/{order['id']}/status/", {"status": status}, headers=as_admin, status=200)
    refund = app.post_json(f"/api/orders/{order['id']}/refunds/", {"amount": "2.50", "reason": "Scratched base"},
                           headers=as_admin, status=201).json
    line = order["items"][0]["id"]
    asked = app.post_json(f"/api/orders/{order['id']}/returns/", {"lines": [{"item": line, "quantity": 1}],
                                                                 "reason": "Too bright for Rhea"},
                          headers=as_customer, status=201).json
    approved = app.post_json(f"/api/returns/{asked['id']}/approve/", {"restock": True}, headers=as_admin,
                             status=200).json

    with WorkerThread(registry):
        got = webhook_receiver.wait_for(4, timeout=60)
    assert len(webhook_receiver.received) == 4  # placed, paid, shipped and delivered are not subscribed to
    for delivery in got:
        assert verify(SECRET, delivery.headers["x-shopcore-signature"], delivery.headers["x-shopcore-timestamp"],
                      delivery.body)
        assert b"Scratched" not in delivery.body and b"Too bright" not in delivery.body
    bodies = [json.loads(delivery.body) for delivery in got]
    assert sorted(body["event"] for body in bodies) == ["order.refunded", "order.refunded", "return.approved",
                                                        "return.requested"]
    [by_admin, by_return] = sorted((body["data"] for body in bodies if body["event"] == "order.refunded"),
                                   key=lambda data: data["refund"]["id"])
    [requested] = [body["data"] for body in bodies if body["event"] == "return.requested"]
    [decided] = [body["data"] for body in bodies if body["event"] == "return.approved"]
    assert by_admin["order_id"] == order["id"] and by_admin["order"]["status"] == "partially_refunded"
    assert by_admin["refund"] == {"id": refund["id"], "amount": "2.50", "refunded_total": "2.50",
                                  "captured_total": "25.00", "lines": [], "return": None, "provider": "simulated",
                                  "currency": "USD"}
    returned_line = {"item": line, "product": lamp, "product_name": "Desk lamp", "quantity": 1}
    assert requested == {"return_id": asked["id"], "order_id": order["id"], "user_id": customer,
                         "lines": [returned_line]}
    assert by_return["refund"]["return"] == asked["id"] and by_return["refund"]["refunded_total"] == "15.00"
    assert by_return["refund"]["lines"] == [{"item": line, "product": lamp, "quantity": 1, "amount": "12.50"}]
    assert decided == {**requested, "refund_id": approved["refund"], "amount": "12.50", "restocked": True}
