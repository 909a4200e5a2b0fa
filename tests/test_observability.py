"""Request logs and Prometheus metrics."""
import json
import logging

import webtest

from shopcore.testing import make_test_configurator


def test_one_text_line_per_request_with_request_id_and_user(customer_app, caplog):
    with caplog.at_level(logging.INFO, logger="shopcore.requests"):
        response = customer_app.get("/api/plugins/", headers={"X-Request-ID": "abc-123"})
    lines = [r.getMessage() for r in caplog.records if r.name == "shopcore.requests"]
    assert len(lines) == 1
    assert "GET /api/plugins/ -> 200" in lines[0] and "id=abc-123" in lines[0] and "[plugins]" in lines[0]
    assert customer_app.token not in lines[0]
    assert response.headers["X-Request-ID"] == "abc-123"


def production_like_app(shopcore_settings, shopcore_registry, **overrides):
    settings = {**shopcore_settings, "shopcore.log.format": "json", "shopcore.metrics.public": "false",
                "shopcore.metrics.token": "metrics-secret", **overrides}
    config = make_test_configurator(settings, **{
        "shopcore.engine": shopcore_registry["shopcore.engine"],
        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
    return webtest.TestApp(config.make_wsgi_app())


def test_json_log_lines_carry_every_field_and_no_token(shopcore_settings, shopcore_registry, db_connection,
                                                       customer, token_for, caplog):
    app = production_like_app(shopcore_settings, shopcore_registry)
    token = token_for(customer)["access"]
    with caplog.at_level(logging.INFO, logger="shopcore.requests"):
        app.get("/health", headers={"Authorization": f"Bearer {token}"})
        app.get("/missing", status=404)
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "shopcore.requests"]
    assert [(r["route"], r["status"]) for r in records] == [("health", 200), ("unmatched", 404)]
    assert set(records[0]) == {"time", "request_id", "method", "route", "path", "status", "duration_ms", "user_id"}
    assert all(token not in r.getMessage() for r in caplog.records)


def test_metrics_count_requests_by_route_and_status(testapp):
    testapp.get("/health")
    testapp.get("/nowhere", status=404)
    text = testapp.get("/metrics").text
    assert 'shopcore_http_requests_total{method="GET",route="health",status="200"}' in text
    assert 'shopcore_http_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert "shopcore_http_request_duration_seconds_bucket" in text


def test_metrics_are_private_in_production_unless_token_or_admin(shopcore_settings, shopcore_registry,
                                                                  db_connection, admin, token_for):
    app = production_like_app(shopcore_settings, shopcore_registry)
    assert app.get("/metrics", status=403).json["detail"].startswith("Metrics are not public")
    assert "shopcore_http_requests_total" in app.get("/metrics", headers={"Authorization": "Bearer metrics-secret"}).text
    admin_token = token_for(admin)["access"]
    assert app.get("/metrics", headers={"Authorization": f"Bearer {admin_token}"}).status_int == 200


def test_metrics_show_cache_lookups_outbox_and_orders(testapp, customer_app, make_product):
    product = make_product(name="Metered lamp", price="5.00", stock=3)
    testapp.get(f"/api/products/{product}/")
    testapp.get(f"/api/products/{product}/")
    customer_app.post_json("/api/cart/items/", {"product": product, "quantity": 1}, status=201)
    customer_app.post_json("/api/orders/checkout/", {"shipping_address": "1 Road", "payment_method": "card"},
                           status=201)
    text = testapp.get("/metrics").text
    assert 'shopcore_cache_lookups_total{namespace="catalog",result="hit"}' in text
    assert 'shopcore_cache_lookups_total{namespace="catalog",result="miss"}' in text
    assert 'shopcore_orders_events_total{event="placed"}' in text
    for state in ("pending", "failed", "done"):
        assert f'shopcore_outbox_jobs{{state="{state}"}}' in text
    assert "shopcore_outbox_oldest_pending_seconds" in text
