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


def plugin_checks(config):
    config.add_readiness_check("search-index", lambda request: None)
    config.add_readiness_check("payments", "tests.test_health.payments_down")


def payments_down(request):
    raise ConnectionError("payments gateway refused the connection")


def test_ready_lists_registered_checks_and_fails_when_one_is_down(shopcore_settings, caplog):
    import webtest

    from shopcore.testing import make_test_configurator

    config = make_test_configurator(shopcore_settings, extra_includes=(plugin_checks,))
    try:
        response = webtest.TestApp(config.make_wsgi_app()).get("/ready", status=503)
    finally:
        config.registry["shopcore.engine"].dispose()  # its pooled connection must not outlive the test
    assert response.json == {"status": "unavailable", "checks": {"database": "ok", "cache": "ok", "broker": "ok",
                                                                "search-index": "ok", "payments": "down"}}
    assert "refused" not in response.text
    assert any("payments is down" in record.getMessage() for record in caplog.records)
