"""Plugins come and go: a disabled plugin's tables are kept and listed, `drop-plugin` removes them.

Runs the real `shopcore-admin` commands on a database of its own (a second PostgreSQL database, or
a SQLite file), so dropping and recreating the coupons tables cannot disturb the suite's database.
"""
import io
import sys

import pytest
import webtest
from sqlalchemy import create_engine, inspect, make_url, text

from shopcore import make_configurator
from shopcore.scripts.admin import main as shopcore_admin
from shopcore.settings import SETTINGS

SHOP = "catalog cart orders notifications"
COUPON_TABLES = {"coupons_coupons", "coupons_applied", "coupons_customer_uses", "coupons_redemptions"}


@pytest.fixture
def own_database(shopcore_settings, tmp_path):
    """The URL of an empty database used by this test only."""
    url = make_url(shopcore_settings["sqlalchemy.url"])
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'removal.sqlite'}"
        return
    url = url.set(database=f"{url.database}_removal")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": url.database}).scalar():
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield url.render_as_string(hide_password=False)


@pytest.fixture
def shop(own_database, shopcore_settings, tmp_path, monkeypatch):
    """`shop(plugins)`: the path of an ini file for this database with that allow-list."""
    for setting in SETTINGS:  # only the ini decides, whatever this machine's environment says
        for variable in setting.env:
            monkeypatch.delenv(variable, raising=False)
    for variable in ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT"):
        monkeypatch.delenv(variable, raising=False)
    engine = create_engine(own_database)

    def write(plugins: str) -> str:
        path = tmp_path / f"shop-{plugins.replace(' ', '-')}.ini"
        path.write_text("\n".join([
            "[app:main]",
            "use = egg:shopcore",
            "shopcore.env = testing",
            f"shopcore.secret = {shopcore_settings['shopcore.secret']}",
            f"sqlalchemy.url = {own_database}",
            f"shopcore.redis_url = {shopcore_settings['shopcore.redis_url']}",
            f"shopcore.mail.dir = {tmp_path / 'mail'}",
            f"shopcore.plugins = {plugins}",
            "",
        ]))
        return str(path)

    write.engine = engine
    yield write
    engine.dispose()


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def versions(engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def coupon_codes(engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT code FROM coupons_coupons")).scalars())


def add_coupon(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO coupons_coupons (code, kind, value, uses, active, created_at, updated_at) "
            "VALUES ('KEEPME', 'percentage', 10, 0, :yes, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"yes": True})


def admin(capsys, *argv) -> tuple[int, str, str]:
    code = shopcore_admin(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_plugin_is_enabled_migrated_disabled_kept_dropped_and_enabled_again(shop, capsys, monkeypatch,
                                                                               shopcore_settings, own_database):
    engine = shop.engine
    with_coupons = shop(f"{SHOP} coupons")
    assert admin(capsys, with_coupons, "migrate")[0] == 0
    assert COUPON_TABLES <= tables(engine)
    assert "coupons_0001" in versions(engine)
    add_coupon(engine)
    code, out, _ = admin(capsys, with_coupons, "plugins")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["catalog", "cart", "orders", "notifications", "coupons"]
    assert "enabled, migrated (coupons_0001)" in out.splitlines()[-1]

    # Disabled: migrate and start-up work, the tables, their rows and the version row stay.
    without = shop(SHOP)
    code, _, err = admin(capsys, without, "migrate")
    assert code == 0, err
    assert COUPON_TABLES <= tables(engine)
    assert coupon_codes(engine) == ["KEEPME"]
    assert "coupons_0001" in versions(engine)
    settings = {**shopcore_settings, "sqlalchemy.url": own_database, "shopcore.plugins": SHOP}
    config = make_configurator(settings, environ={})
    app = webtest.TestApp(config.make_wsgi_app())
    assert "coupons" not in [plugin["name"] for plugin in app.get("/api/plugins/").json]
    app.get("/api/coupons/", status=404)
    app.get("/api/products/", status=200)
    config.registry["shopcore.engine"].dispose()
    code, out, _ = admin(capsys, without, "plugins")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["catalog", "cart", "orders", "notifications", "coupons"]
    assert "disabled, tables kept (coupons_0001); drop-plugin coupons removes them" in lines[-1]

    # drop-plugin refuses what it must, asks before it drops, and then drops through the downgrade.
    code, _, err = admin(capsys, without, "drop-plugin", "cart", "--yes")
    assert code == 1
    assert "plugin 'cart' is enabled" in err
    code, _, err = admin(capsys, without, "drop-plugin", "nosuchplugin", "--yes")
    assert code == 1
    assert "plugin 'nosuchplugin' is not installed" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    code, out, err = admin(capsys, without, "drop-plugin", "coupons")
    assert code == 2
    assert "Drop every table of plugin 'coupons'" in out
    assert coupon_codes(engine) == ["KEEPME"]
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    code, out, err = admin(capsys, without, "drop-plugin", "coupons")
    assert code == 0, err
    assert "tables removed: " + ", ".join(sorted(COUPON_TABLES)) in out
    assert not COUPON_TABLES & tables(engine)
    assert "coupons_0001" not in versions(engine)
    assert {"catalog_products", "orders_orders", "cart_items", "core_users"} <= tables(engine)
    code, out, _ = admin(capsys, without, "drop-plugin", "coupons", "--yes")
    assert code == 0
    assert "nothing changed" in out
    assert [line.split()[0] for line in admin(capsys, without, "plugins")[1].splitlines()] == [
        "catalog", "cart", "orders", "notifications"]

    # Enabled again: its migrations run from scratch.
    assert admin(capsys, with_coupons, "migrate")[0] == 0
    assert COUPON_TABLES <= tables(engine)
    assert coupon_codes(engine) == []
    assert "coupons_0001" in versions(engine)


def test_drop_plugin_without_a_terminal_needs_yes(shop, capsys, monkeypatch):
    engine = shop.engine
    assert admin(capsys, shop(f"{SHOP} coupons"), "migrate")[0] == 0
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = admin(capsys, shop(SHOP), "drop-plugin", "coupons")
    assert code == 2
    assert "give --yes" in err
    assert COUPON_TABLES <= tables(engine)


def test_a_revision_no_installed_plugin_provides_is_named(shop, capsys):
    engine = shop.engine
    ini = shop(SHOP)
    assert admin(capsys, ini, "migrate")[0] == 0
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('gone_0001')"))
    code, _, err = admin(capsys, ini, "migrate")
    assert code == 1
    assert "the database holds migration 'gone_0001', which no installed plugin provides" in err


FANS_INIT = '''
from shopcore.plugins import PluginManifest


def includeme(config):
    pass


plugin = PluginManifest(name="fans", api="2.0", includeme=includeme,
                        migrations="shopcore_fans:migrations")
'''

FANS_MIGRATION = '''
import sqlalchemy as sa
from alembic import op

revision = "fans_0001"
down_revision = None
branch_labels = ("fans",)
depends_on = "coupons_0001"


def upgrade():
    op.create_table("fans_fans", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("coupon_id", sa.Integer(), sa.ForeignKey("coupons_coupons.id"), nullable=False))


def downgrade():
    op.drop_table("fans_fans")
'''


@pytest.fixture
def fans_plugin(tmp_path, monkeypatch):
    """An installed plugin whose migration depends on the coupons plugin's (a dist-info on sys.path)."""
    site = tmp_path / "site"
    (site / "shopcore_fans" / "migrations").mkdir(parents=True)
    (site / "shopcore_fans" / "__init__.py").write_text(FANS_INIT)
    (site / "shopcore_fans" / "migrations" / "fans_0001.py").write_text(FANS_MIGRATION)
    info = site / "shopcore_fans-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shopcore-fans\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[shopcore.plugins]\nfans = shopcore_fans:plugin\n")
    monkeypatch.syspath_prepend(str(site))
    yield
    for name in [module for module in sys.modules if module.startswith("shopcore_fans")]:
        del sys.modules[name]


def test_a_plugin_whose_tables_another_plugin_builds_on_is_not_dropped(shop, fans_plugin, capsys):
    engine = shop.engine
    assert admin(capsys, shop(f"{SHOP} coupons fans"), "migrate")[0] == 0
    assert "fans_fans" in tables(engine)
    code, _, err = admin(capsys, shop(f"{SHOP} fans"), "drop-plugin", "coupons", "--yes")
    assert code == 1
    assert "plugin 'coupons' cannot be dropped: the migrations of 'fans' (enabled) depend on it" in err
    # Disabled too, it still holds its tables: drop it first, then coupons.
    without = shop(SHOP)
    code, _, err = admin(capsys, without, "drop-plugin", "coupons", "--yes")
    assert code == 1
    assert "the migrations of 'fans' (disabled) depend on it" in err
    assert admin(capsys, without, "drop-plugin", "fans", "--yes")[0] == 0
    assert admin(capsys, without, "drop-plugin", "coupons", "--yes")[0] == 0
    assert not {"fans_fans", *COUPON_TABLES} & tables(engine)
