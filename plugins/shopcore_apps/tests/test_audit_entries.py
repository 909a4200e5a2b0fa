"""Issue 20, point 5, for apps and webhooks: every admin change of an app (made, changed, key rotated, deleted)
and of a webhook subscription (made, changed, secret rotated, deleted, a delivery sent again) is in the
audit log, with ids and the object's own fields, never a key or a secret; what an app does with its key
names the key."""
from __future__ import annotations

from sqlalchemy import text


def entries(admin_app, **params) -> list[dict]:
    return admin_app.get("/api/audit/", params={"page_size": 100, **params}).json["results"]


def test_app_and_webhook_changes_are_recorded_without_keys_or_secrets(admin_app, admin, testapp, make_product,
                                                                     db_connection, audit_trail):
    from shopcore_apps.testing import app_key_headers

    app = admin_app.post_json("/api/apps/", {"name": "ERP", "scopes": ["orders:read"]}, status=201).json
    admin_app.patch_json(f"/api/apps/{app['id']}/", {"scopes": ["orders:read", "webhooks:write"]}, status=200)
    rotated = admin_app.post(f"/api/apps/{app['id']}/rotate-key/", status=200).json
    own = testapp.post_json("/api/webhooks/", {"url": "https://erp.example.com/own", "events": ["order.*"]},
                            headers=app_key_headers(rotated["key"]), status=201).json
    hook = admin_app.post_json("/api/webhooks/", {"url": "https://hooks.example.com/shop", "events": ["product.*"],
                                                  "secret": "first-secret-123456"}, status=201).json
    admin_app.patch_json(f"/api/webhooks/{hook['id']}/", {"events": ["product.created"]}, status=200)
    admin_app.post_json(f"/api/webhooks/{hook['id']}/rotate-secret/", {"overlap_seconds": 0}, status=200)
    make_product("Lamp")
    [delivery] = admin_app.get(f"/api/webhooks/{hook['id']}/deliveries/").json["results"]
    db_connection.execute(text("UPDATE apps_webhook_deliveries SET status = 'failed'"))  # as after its last try
    admin_app.post(f"/api/webhook-deliveries/{delivery['id']}/redeliver/", status=202)
    admin_app.delete(f"/api/webhooks/{hook['id']}/", status=204)
    admin_app.delete(f"/api/apps/{app['id']}/", status=204)

    erp = {"name": "ERP", "description": "", "is_active": True}
    assert audit_trail("apps.app", app["id"]) == [
        ("apps.app.create", None, {**erp, "scopes": ["orders:read"], "key_prefix": app["key_prefix"]}),
        ("apps.app.update", {**erp, "scopes": ["orders:read"]}, {**erp, "scopes": ["orders:read", "webhooks:write"]}),
        ("apps.app.rotate_key", {"key_prefix": app["key_prefix"]}, {"key_prefix": rotated["key_prefix"]}),
        ("apps.app.delete", {**erp, "scopes": ["orders:read", "webhooks:write"], "webhooks": [own["id"]]}, None)]
    shop_hook = {"url": "https://hooks.example.com/shop", "description": "", "is_active": True, "app": None}
    assert audit_trail("apps.webhook", hook["id"]) == [
        ("apps.webhook.create", None, {**shop_hook, "events": ["product.*"]}),
        ("apps.webhook.update", {**shop_hook, "events": ["product.*"]}, {**shop_hook, "events": ["product.created"]}),
        ("apps.webhook.rotate_secret", {"previous_secret_expires_at": None}, {"previous_secret_expires_at": None}),
        ("apps.webhook.delete", {**shop_hook, "events": ["product.created"]}, None)]
    assert audit_trail("apps.webhook_delivery", delivery["id"]) == [
        ("apps.webhook.redeliver", {"status": "failed"},
         {"status": "pending", "subscription": hook["id"], "event": "product.created"})]
    # What the app did with its key is the app's: its entry names the key, the actor is the admin it acts for.
    [by_app] = entries(admin_app, action="apps.webhook.create", object_id=str(own["id"]))
    assert by_app["actor_id"] == admin and by_app["origin"] == f"POST /api/webhooks/ (key app:{app['id']})"
    logged = str(entries(admin_app))
    for secret in (app["key"], rotated["key"], hook["secret"], "first-secret-123456"):
        assert secret not in logged
