"""`shopcore-admin CONFIG expire-orders`: cancel unpaid orders older than `shopcore.orders.pending_ttl` now.

(`purge-idempotency-keys` is the core's since the keys moved there: `shopcore.idempotency`.)
"""
from __future__ import annotations

from shopcore_orders.expiry import expire_pending_orders
from shopcore_orders.settings import SETTINGS_KEY


def expire_orders(env, args) -> int:
    registry = env["registry"]
    expired = expire_pending_orders(registry)
    print(f"expire-orders: {len(expired)} unpaid order(s) older than {registry[SETTINGS_KEY].pending_ttl} "
          f"cancelled, their stock returned")
    return 0
