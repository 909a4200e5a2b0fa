"""Issue 16's migrations carry existing data over: every product gets its one variant (its price and
stock, its slug as SKU), cart lines and order lines point at it, and the shop goes on working.

Migrates a database of its own to the revisions before variants, writes rows the old way, then
migrates to the heads and uses the result through the API.
"""
import datetime
from decimal import Decimal

import pytest
import webtest
from sqlalchemy import create_engine, make_url, text

from shopcore import make_configurator
from shopcore.migrate import upgrade

BEFORE_VARIANTS = ("core@head", "catalog_0002", "cart_0001", "orders_0001")


@pytest.fixture
def old_shop(shopcore_settings, tmp_path):
    """A registry for the whole shop on an empty database of this test's own."""
    url = make_url(shopcore_settings["sqlalchemy.url"])
    if url.get_backend_name() == "sqlite":
        database = f"sqlite:///{tmp_path / 'old.sqlite'}"
    else:
        url = url.set(database=f"{url.database}_migration")
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}):
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        database = url.render_as_string(hide_password=False)
        engine = create_engine(database)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    settings = {**shopcore_settings, "sqlalchemy.url": database, "shopcore.plugins": "catalog cart orders",
                "shopcore.catalog.media_root": str(tmp_path / "media")}
    config = make_configurator(settings, environ={})
    yield config
    config.registry["shopcore.engine"].dispose()


def test_existing_products_carts_and_orders_get_their_one_variant(old_shop):
    registry = old_shop.registry
    for revision in BEFORE_VARIANTS:
        upgrade(registry, revision)
    now = datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.timezone.utc)
    engine = registry["shopcore.engine"]
    from shopcore.accounts.services import create_user
    from shopcore.testing import request_context

    with request_context(registry) as request:
        user = create_user(request, username="ann", email="ann@example.com", password="correct horse battery").id
    with engine.begin() as connection:
        for product_id, name, slug, price, stock in ((1, "Lamp", "lamp", "12.50", 4), (2, "Chair", "Chair", "40.00", 0),
                                                     (3, "Chair too", "chair", "41.00", 2)):
            connection.execute(text(
                "INSERT INTO catalog_products (id, name, slug, description, price, stock, is_active, created_at, "
                "updated_at) VALUES (:id, :name, :slug, '', :price, :stock, true, :now, :now)"),
                {"id": product_id, "name": name, "slug": slug, "price": price, "stock": stock, "now": now})
        connection.execute(text("INSERT INTO cart_items (id, user_id, product_id, quantity, created_at, updated_at) "
                                "VALUES (1, :user, 1, 2, :now, :now)"), {"now": now, "user": user})
        connection.execute(text(
            "INSERT INTO orders_orders (id, user_id, status, subtotal, total_price, shipping_address, payment_method, "
            "created_at, updated_at) VALUES (1, :user, 'pending', 12.50, 12.50, 'Here', 'card', :now, :now)"),
            {"now": now, "user": user})
        connection.execute(text("INSERT INTO orders_lines (order_id, product_id, product_name, quantity, price) "
                                "VALUES (1, 1, 'Lamp', 1, 12.50)"))

    upgrade(registry, "heads")

    with engine.connect() as connection:
        variants = connection.execute(text(
            "SELECT id, product_id, sku, price, stock, is_active FROM catalog_variants ORDER BY id")).all()
        assert [(v.id, v.product_id, v.sku, Decimal(str(v.price)), v.stock, bool(v.is_active)) for v in variants] == [
            (1, 1, "lamp", Decimal("12.5"), 4, True), (2, 2, "Chair", Decimal("40"), 0, True),
            (3, 3, "chair-3", Decimal("41"), 2, True)]  # SKUs are unique case aside
        assert connection.execute(text("SELECT variant_id FROM cart_items")).scalar() == 1
        line = connection.execute(text("SELECT variant_id, sku, options FROM orders_lines")).one()
        assert (line.variant_id, line.sku, line.options) == (1, None, None)

    app = webtest.TestApp(old_shop.make_wsgi_app())
    lamp = app.get("/api/products/1/").json
    assert (lamp["option_names"], lamp["price"], lamp["stock"]) == ([], "12.50", 4)
    assert [(v["id"], v["sku"], v["options"]) for v in lamp["variants"]] == [(1, "lamp", {})]
    # A new variant does not collide with the ids the migration gave (PostgreSQL's sequence moved on).
    from shopcore_cart.api import CartService
    from shopcore_catalog.api import CatalogService

    with request_context(registry) as request:
        catalog = request.find_service(CatalogService)
        catalog.update_product(1, {"option_names": ["colour"]})
        black = catalog.create_variant(1, sku="LAMP-BLACK", options={"colour": "black"}, price="13.00", stock=1)
        assert black.id > 3
        cart = request.find_service(CartService).priced_cart(user)
        assert [(line.variant_id, line.sku, line.quantity, line.available) for line in cart.lines] == [
            (1, "lamp", 2, True)]
