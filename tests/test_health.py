"""Health, readiness and the plugin listing."""


def test_health_is_up(testapp):
    assert testapp.get("/health").json == {"status": "ok"}


def test_ready_reports_every_dependency(testapp):
    body = testapp.get("/ready").json
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}


def test_plugins_lists_enabled_plugins_in_include_order(testapp, shopcore_plugins):
    names = [plugin["name"] for plugin in testapp.get("/api/plugins/").json]
    assert sorted(names) == sorted(shopcore_plugins)
    if "orders" in names:
        assert names.index("catalog") < names.index("cart") < names.index("orders")
