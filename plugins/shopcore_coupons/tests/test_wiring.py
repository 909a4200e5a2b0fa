"""The plugin as the core sees it: listed when enabled, refused without its requirements, and leaving no
route, OpenAPI path or table behind when installed but not enabled."""
import pytest
import webtest
from sqlalchemy import inspect

from shopcore.migrate import upgrade
from shopcore.plugins import PluginError
from shopcore.testing import make_test_configurator

COUPON_PATHS = ("/api/coupons/", "/api/coupons/{id}/", "/api/cart/coupon/")


def test_the_plugin_is_listed_with_its_version_and_requirements(testapp):
    listed = {plugin["name"]: plugin for plugin in testapp.get("/api/plugins/").json}
    assert listed["coupons"]["version"] == "0.1.0"
    assert listed["coupons"]["requires"] == ["cart", "orders"]
    assert listed["coupons"]["api"] == "2.0"


def test_its_paths_are_in_the_spec(testapp):
    paths = testapp.get("/openapi.yaml").text
    for path in COUPON_PATHS:
        assert f"{path}:" in paths


def test_without_orders_the_app_refuses_to_start_naming_both(shopcore_settings, tmp_path):
    settings = {**shopcore_settings, "sqlalchemy.url": f"sqlite:///{tmp_path / 'refused.sqlite'}",
                "shopcore.plugins": "catalog cart coupons"}
    with pytest.raises(PluginError, match="plugin 'coupons' requires plugin 'orders', which is not enabled"):
        make_test_configurator(settings)


def test_installed_but_not_enabled_it_leaves_nothing_behind(shopcore_settings, tmp_path):
    settings = {**shopcore_settings, "sqlalchemy.url": f"sqlite:///{tmp_path / 'without.sqlite'}",
                "shopcore.plugins": "catalog cart orders"}
    config = make_test_configurator(settings)
    upgrade(config.registry)
    app = webtest.TestApp(config.make_wsgi_app())
    try:
        assert "coupons" not in [plugin["name"] for plugin in app.get("/api/plugins/").json]
        tables = inspect(config.registry["shopcore.engine"]).get_table_names()
        assert "cart_items" in tables
        assert [table for table in tables if table.startswith("coupons_")] == []
        assert "coupon" not in app.get("/openapi.yaml").text.lower()
        for path in ("/api/coupons/", "/api/coupons/1/", "/api/cart/coupon/"):
            assert app.get(path, status=404).json == {"detail": "Not found."}
    finally:
        config.registry["shopcore.engine"].dispose()
