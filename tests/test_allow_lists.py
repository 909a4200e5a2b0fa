"""Each allow-list boots and migrates; a disabled plugin leaves no route, OpenAPI path or table behind."""

import pytest
import webtest
from sqlalchemy import inspect

from shopcore.migrate import upgrade
from shopcore.plugins import discover
from shopcore.testing import make_test_configurator

SHOP_PLUGINS = ("catalog", "cart", "orders", "notifications", "payments")
ALLOW_LISTS = [
    (),
    ("catalog",),
    ("catalog", "cart"),
    ("catalog", "cart", "orders"),
    ("catalog", "cart", "orders", "notifications"),
    ("catalog", "cart", "orders", "payments"),
    ("notifications",),
    SHOP_PLUGINS,
    SHOP_PLUGINS + ("stripe",),
    SHOP_PLUGINS + ("coupons",),
]
# The API paths each plugin owns, by prefix.
PATH_PREFIXES = {"catalog": ("/api/products/", "/api/categories/"), "cart": ("/api/cart/",),
                 "orders": ("/api/orders/",), "coupons": ("/api/coupons/", "/api/cart/coupon/"),
                 "payments": ("/api/returns/",)}


@pytest.mark.parametrize("allowed", ALLOW_LISTS, ids=lambda a: "+".join(a) or "core-only")
def test_allow_list_boots_migrates_and_holds_only_its_plugins(allowed, shopcore_settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'allow.sqlite'}"
    settings = {**shopcore_settings, "sqlalchemy.url": url, "shopcore.plugins": " ".join(allowed)}
    config = make_test_configurator(settings)
    registry = config.registry
    upgrade(registry)
    app = webtest.TestApp(config.make_wsgi_app())

    assert [p["name"] for p in app.get("/api/plugins/").json] == list(allowed)
    tables = set(inspect(registry["shopcore.engine"]).get_table_names())
    paths = set(app.get("/swagger.json").json["paths"])
    for plugin in (set(SHOP_PLUGINS) | {"coupons", "stripe"}) - set(allowed):
        assert not [t for t in tables if t.startswith(f"{plugin}_")], f"{plugin} left tables behind"
        for prefix in PATH_PREFIXES.get(plugin, ()):
            assert not [p for p in paths if p.startswith(prefix)], f"{plugin} left paths behind"
            app.get(prefix, status=404)
    for plugin in allowed:
        for prefix in PATH_PREFIXES.get(plugin, ()):
            assert prefix in paths
    assert "core_users" in tables
    registry["shopcore.engine"].dispose()


def test_every_shop_plugin_is_installed():
    assert set(SHOP_PLUGINS) <= set(discover())
