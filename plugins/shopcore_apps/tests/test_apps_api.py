"""Apps and their keys over HTTP: shown once, stored hashed, scoped, rotated, revoked, last use recorded."""
from __future__ import annotations

import datetime

from sqlalchemy import text

from shopcore_apps.keys import key_digest
from shopcore_apps.testing import app_key_headers


def create(admin_app, scopes, name="ERP", status=201):
    return admin_app.post_json("/api/apps/", {"name": name, "scopes": scopes}, status=status)


def test_a_new_app_answers_its_key_once_and_stores_only_its_hash(admin_app, db_connection):
    body = create(admin_app, ["orders:read"]).json
    key = body["key"]
    assert key.startswith("shk_") and len(key) > 40
    assert body["key_prefix"] == key[:12] and body["scopes"] == ["orders:read"]
    stored = db_connection.execute(text("SELECT key_hash, key_prefix FROM apps_apps WHERE id = :id"),
                                   {"id": body["id"]}).one()
    assert stored.key_hash == key_digest(key) and key not in stored
    shown = admin_app.get(f"/api/apps/{body['id']}/").json
    assert "key" not in shown and shown["key_prefix"] == key[:12]
    assert all("key" not in app for app in admin_app.get("/api/apps/").json["results"])


def test_a_key_calls_what_its_scopes_allow_and_is_refused_the_rest_naming_the_scope(admin_app, testapp, customer,
                                                                                     make_order):
    order = make_order(customer)
    key = create(admin_app, ["orders:read"]).json["key"]
    listed = testapp.get("/api/orders/", headers=app_key_headers(key)).json
    assert order["id"] in [o["id"] for o in listed["results"]]  # every customer's orders, as an admin sees them
    assert testapp.get(f"/api/orders/{order['id']}/", headers=app_key_headers(key)).json["id"] == order["id"]
    refused = testapp.patch_json(f"/api/orders/{order['id']}/status/", {"status": "shipped"},
                                 headers=app_key_headers(key), status=403).json
    assert "orders:write" in refused["detail"]
    assert refused["errors"] == [{"field": "scope", "message": "missing scope orders:write"}]
    refused = testapp.post_json("/api/products/", {"name": "x", "price": "1.00"}, headers=app_key_headers(key),
                                status=403).json
    assert "catalog:write" in refused["detail"]


def test_a_public_operation_with_a_key_lacking_its_scope_is_refused_and_never_shows_admin_data(
        admin_app, testapp, make_product):
    hidden = make_product(name="Hidden", is_active=False)
    without = create(admin_app, ["orders:read"]).json["key"]
    assert "catalog:read" in testapp.get("/api/products/", headers=app_key_headers(without), status=403).json["detail"]
    with_read = create(admin_app, ["catalog:read"], name="Feed").json["key"]
    testapp.get(f"/api/products/{hidden}/", headers=app_key_headers(with_read), status=200)
    testapp.get(f"/api/products/{hidden}/", status=404)  # anonymous: gone


def test_unknown_and_app_managing_scopes_are_refused_by_name(admin_app):
    body = create(admin_app, ["orders:read", "catalog:fly"], status=400).json
    assert body["errors"][0]["field"] == "scopes" and "catalog:fly" in body["errors"][0]["message"]
    body = create(admin_app, ["apps:write"], status=400).json
    assert "apps:write" in body["errors"][0]["message"]


def test_apps_cannot_manage_apps_whatever_their_scopes(admin_app, testapp):
    key = create(admin_app, ["orders:read", "webhooks:write"]).json["key"]
    body = testapp.post_json("/api/apps/", {"name": "escalate", "scopes": ["orders:write"]},
                             headers=app_key_headers(key), status=403).json
    assert "apps:write" in body["detail"]


def test_customers_cannot_manage_apps(customer_app):
    customer_app.get("/api/apps/", status=403)
    customer_app.post_json("/api/apps/", {"name": "x", "scopes": []}, status=403)


def test_rotating_a_key_stops_the_old_one_at_once(admin_app, testapp):
    body = create(admin_app, ["orders:read"]).json
    old = body["key"]
    new = admin_app.post(f"/api/apps/{body['id']}/rotate-key/", status=200).json["key"]
    assert new != old
    testapp.get("/api/orders/", headers=app_key_headers(old), status=401)
    testapp.get("/api/orders/", headers=app_key_headers(new), status=200)


def test_a_switched_off_or_deleted_app_is_refused_at_its_next_request(admin_app, testapp):
    body = create(admin_app, ["orders:read"]).json
    testapp.get("/api/orders/", headers=app_key_headers(body["key"]), status=200)
    admin_app.patch_json(f"/api/apps/{body['id']}/", {"is_active": False}, status=200)
    testapp.get("/api/orders/", headers=app_key_headers(body["key"]), status=401)
    admin_app.patch_json(f"/api/apps/{body['id']}/", {"is_active": True}, status=200)
    testapp.get("/api/orders/", headers=app_key_headers(body["key"]), status=200)
    admin_app.delete(f"/api/apps/{body['id']}/", status=204)
    response = testapp.get("/api/orders/", headers=app_key_headers(body["key"]), status=401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_scope_changes_apply_to_the_next_request(admin_app, testapp):
    body = create(admin_app, ["orders:read"]).json
    testapp.get("/api/orders/", headers=app_key_headers(body["key"]), status=200)
    admin_app.patch_json(f"/api/apps/{body['id']}/", {"scopes": ["catalog:write"]}, status=200)
    assert "orders:read" in testapp.get("/api/orders/", headers=app_key_headers(body["key"]), status=403).json["detail"]


def test_a_made_up_key_is_a_401(testapp):
    testapp.get("/api/orders/", headers=app_key_headers("shk_" + "x" * 43), status=401)


def test_last_use_is_recorded_at_most_once_a_minute(admin_app, testapp, db_connection):
    body = create(admin_app, ["orders:read"]).json
    assert body["last_used_at"] is None
    testapp.get("/api/orders/", headers=app_key_headers(body["key"]))
    first = admin_app.get(f"/api/apps/{body['id']}/").json["last_used_at"]
    assert first is not None
    testapp.get("/api/orders/", headers=app_key_headers(body["key"]))
    assert admin_app.get(f"/api/apps/{body['id']}/").json["last_used_at"] == first
    long_ago = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    db_connection.execute(text("UPDATE apps_apps SET last_used_at = :t WHERE id = :id"), {"t": long_ago, "id": body["id"]})
    testapp.get("/api/orders/", headers=app_key_headers(body["key"]))
    assert admin_app.get(f"/api/apps/{body['id']}/").json["last_used_at"] > "2021"


def test_the_grantable_scopes_are_those_of_the_served_spec(admin_app, testapp):
    scopes = admin_app.get("/api/apps/scopes/").json["scopes"]
    assert {"orders:read", "orders:write", "catalog:read", "catalog:write", "customers:read", "webhooks:write",
            "webhooks:read", "cart:write"} <= set(scopes)
    assert not [scope for scope in scopes if scope.startswith("apps:")]
    spec = testapp.get("/openapi.yaml").text
    import yaml

    operations = [op for item in yaml.safe_load(spec)["paths"].values() for method, op in item.items()
                  if method in ("get", "post", "put", "patch", "delete")]
    assert operations and all(op.get("x-shopcore-scope") for op in operations)
    assert all(f"`{op['x-shopcore-scope']}`" in op["description"] for op in operations)
