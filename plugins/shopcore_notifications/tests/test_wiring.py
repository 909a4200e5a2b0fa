"""How the plugin hooks into the app: order mails only with the orders plugin, the commands it adds."""
import subprocess
import sys

from shopcore.testing.messaging import worker_environment, write_ini
from shopcore_orders.events import OrderPaid, OrderPlaced


def subscribed_events(registry) -> set[type]:
    return {event_type for event_type, _after_commit, handler in registry.get("shopcore.event_subscribers", [])
            if handler.__module__.startswith("shopcore_notifications")}


def test_order_mails_are_subscribed_only_when_the_orders_plugin_is_enabled(messaging_app):
    without = messaging_app(**{"shopcore.plugins": "notifications"})
    assert not {OrderPlaced, OrderPaid} & subscribed_events(without)
    with_orders = messaging_app(**{"shopcore.plugins": "catalog cart orders notifications"})
    assert {OrderPlaced, OrderPaid} <= subscribed_events(with_orders)
    # In the transaction, so the outbox row commits or rolls back with the order.
    assert all(not after_commit for _type, after_commit, handler in with_orders["shopcore.event_subscribers"]
               if handler.__module__.startswith("shopcore_notifications"))


def test_mail_status_from_the_command_line(messaging_app, tmp_path):
    registry = messaging_app(**{"shopcore.plugins": "notifications"})
    ini = write_ini(tmp_path / "app.ini", registry["shopcore.test_settings"])
    result = subprocess.run([sys.executable, "-m", "shopcore.scripts.admin", str(ini), "mail-status"],
                            env=worker_environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "pending: 0 (0 published, 0 waiting for the broker or a retry)", "sent: 0", "failed: 0",
        "oldest pending age: -"]
