"""Subscriptions and the delivery log over HTTP: secrets shown once, events checked, URLs refused, an app
sees only its own, deliveries made in the changing transaction (and not on rollback)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from shopcore_apps.testing import app_key_headers

URL = "https://hooks.example.com/shop"


def subscribe(client, status=201, **fields):
    return client.post_json("/api/webhooks/", {"url": URL, "events": ["order.*"], **fields}, status=status)


def test_a_generated_secret_is_shown_once(admin_app):
    body = subscribe(admin_app).json
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert "secret" not in admin_app.get(f"/api/webhooks/{body['id']}/").json
    assert all("secret" not in item for item in admin_app.get("/api/webhooks/").json["results"])
    assert subscribe(admin_app, secret="my-own-secret-123456").json["secret"] == "my-own-secret-123456"


def test_unknown_events_are_refused_naming_them_and_the_known_ones_are_listed(admin_app):
    body = subscribe(admin_app, status=400, events=["order.paid", "order.exploded"]).json
    assert body["errors"][0]["field"] == "events" and "order.exploded" in body["errors"][0]["message"]
    names = [event["name"] for event in admin_app.get("/api/webhooks/events/").json["events"]]
    assert {"order.created", "order.paid", "order.cancelled", "order.shipped", "order.delivered", "product.created",
            "product.updated", "product.deleted"} <= set(names)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://[::1]/", "http://169.254.169.254/latest/",
                                 "http://10.0.0.5/hook", "http://localhost/hook", "file:///etc/passwd"])
def test_private_and_odd_urls_are_refused_unless_the_setting_allows(make_app, admin, token_for, url):
    strict = make_app(**{"shopcore.apps.webhook_allow_private_targets": "false"})
    headers = {"Authorization": f"Bearer {token_for(admin)['access']}"}
    body = strict.post_json("/api/webhooks/", {"url": url, "events": ["*"]}, headers=headers, status=400).json
    assert body["errors"][0]["field"] == "url"


def test_an_app_with_webhooks_write_manages_only_its_own_subscriptions(admin_app, testapp, make_app_key):
    theirs = subscribe(admin_app).json
    key = make_app_key(["webhooks:read", "webhooks:write"])
    mine = testapp.post_json("/api/webhooks/", {"url": URL, "events": ["product.*"]}, headers=app_key_headers(key),
                             status=201).json
    listed = testapp.get("/api/webhooks/", headers=app_key_headers(key)).json["results"]
    assert [item["id"] for item in listed] == [mine["id"]] and mine["app"] is not None
    testapp.get(f"/api/webhooks/{theirs['id']}/", headers=app_key_headers(key), status=404)
    testapp.delete(f"/api/webhooks/{theirs['id']}/", headers=app_key_headers(key), status=404)
    assert {item["id"] for item in admin_app.get("/api/webhooks/").json["results"]} == {mine["id"], theirs["id"]}
    reader = make_app_key(["webhooks:read"])
    refused = testapp.post_json("/api/webhooks/", {"url": URL, "events": ["*"]}, headers=app_key_headers(reader),
                                status=403).json
    assert "webhooks:write" in refused["detail"]


def test_customers_cannot_subscribe(customer_app):
    customer_app.post_json("/api/webhooks/", {"url": URL, "events": ["*"]}, status=403)


def test_an_event_makes_one_logged_delivery_per_matching_subscription_in_its_transaction(
        admin_app, customer, make_order, db_connection):
    orders = subscribe(admin_app).json
    products = subscribe(admin_app, events=["product.created"]).json
    off = subscribe(admin_app, is_active=False).json
    order = make_order(customer)  # makes a product (product.created) and an order (order.created, stock taken)
    log = admin_app.get(f"/api/webhooks/{orders['id']}/deliveries/").json["results"]
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [("order.created", "pending", 0)]
    assert [d["event"] for d in admin_app.get(f"/api/webhooks/{products['id']}/deliveries/").json["results"]] == \
        ["product.created"]
    assert admin_app.get(f"/api/webhooks/{off['id']}/deliveries/").json["count"] == 0
    body = db_connection.execute(text("SELECT body FROM apps_webhook_deliveries WHERE event = 'order.created'")).scalar()
    assert f'"order_id":{order["id"]}' in body
    jobs = db_connection.execute(text("SELECT count(*) FROM core_outbox WHERE kind = 'apps.webhook'")).scalar()
    assert jobs == 2


def test_a_rolled_back_change_makes_no_delivery(admin_app, make_request, db_connection):
    from shopcore_catalog.api import CatalogService

    subscribe(admin_app, events=["product.*"])
    with pytest.raises(RuntimeError):
        with make_request() as request:
            request.find_service(CatalogService).create_product("Never", "1.00")
            raise RuntimeError("the change fails after the event")
    assert db_connection.execute(text("SELECT count(*) FROM apps_webhook_deliveries")).scalar() == 0


def test_redelivering_a_pending_delivery_is_a_409_and_a_malformed_id_a_400(admin_app, make_product):
    subscribe(admin_app, events=["product.*"])
    make_product()
    [subscription] = admin_app.get("/api/webhooks/").json["results"]
    [delivery] = admin_app.get(f"/api/webhooks/{subscription['id']}/deliveries/").json["results"]
    admin_app.post(f"/api/webhook-deliveries/{delivery['id']}/redeliver/", status=409)
    admin_app.post("/api/webhook-deliveries/not-a-uuid/redeliver/", status=400)
    admin_app.post("/api/webhook-deliveries/00000000-0000-0000-0000-000000000000/redeliver/", status=404)


def test_rotation_answers_the_new_secret_and_the_overlap(admin_app):
    body = subscribe(admin_app, secret="first-secret-123456").json
    rotated = admin_app.post_json(f"/api/webhooks/{body['id']}/rotate-secret/", {"overlap_seconds": 600}).json
    assert rotated["secret"] != "first-secret-123456" and rotated["previous_secret_expires_at"] is not None
    admin_app.post_json(f"/api/webhooks/{body['id']}/rotate-secret/", {"secret": rotated["secret"]}, status=400)
