"""orders_0002 on a database holding orders: lines and adjustments survive SQLite's table rebuild (foreign
keys are off during migrations, checked before commit), keys move to the core's table, moments are filled."""
from sqlalchemy import create_engine, text

from shopcore.migrate import upgrade
from shopcore.testing import make_test_configurator

NOW = "2026-12-01 10:00:00+00:00"


def test_orders_0002_keeps_every_line_and_moves_the_idempotency_keys(shopcore_settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'upgrade.sqlite'}"
    config = make_test_configurator({**shopcore_settings, "sqlalchemy.url": url,
                                     "shopcore.plugins": "catalog cart orders"})
    registry = config.registry
    upgrade(registry, "orders_0001")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO core_users (id, username, email, password_hash, created_at, "
                                "tokens_valid_after) VALUES (1, 'ann', 'ann@example.com', 'x', :now, :now)"),
                           {"now": NOW})
        for order_id, status in ((1, "delivered"), (2, "pending")):
            connection.execute(text("INSERT INTO orders_orders (id, user_id, status, subtotal, total_price, "
                                    "shipping_address, payment_method, created_at, updated_at) VALUES "
                                    "(:id, 1, :status, 10, 10, 'a', 'card', :now, :now)"),
                               {"id": order_id, "status": status, "now": NOW})
            connection.execute(text("INSERT INTO orders_lines (order_id, product_id, product_name, quantity, price) "
                                    "VALUES (:id, 7, 'Lamp', 1, 10)"), {"id": order_id})
        connection.execute(text("INSERT INTO orders_idempotency_keys (user_id, key, fingerprint, state, created_at) "
                                "VALUES (1, 'k', 'f', 'completed', :now)"), {"now": NOW})
    upgrade(registry)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT order_id FROM orders_lines ORDER BY order_id")).scalars().all() == [1, 2]
        assert connection.execute(text("SELECT user_id, key FROM core_idempotency_keys")).all() == [(1, "k")]
        moments = connection.execute(text("SELECT id, shipped_at IS NOT NULL, delivered_at IS NOT NULL "
                                          "FROM orders_orders ORDER BY id")).all()
        assert moments == [(1, 1, 1), (2, 0, 0)]
        assert "orders_idempotency_keys" not in connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()
        # The widened check takes the refund states; foreign keys are on again after the migration.
        connection.execute(text("UPDATE orders_orders SET status = 'partially_refunded' WHERE id = 1"))
        assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    engine.dispose()
    registry["shopcore.engine"].dispose()
