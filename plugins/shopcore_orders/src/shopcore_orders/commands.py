"""`shopcore-admin CONFIG purge-idempotency-keys`: drop Idempotency-Keys older than 24 hours.
`shopcore-admin CONFIG expire-orders`: cancel unpaid orders older than `shopcore.orders.pending_ttl` now."""
from __future__ import annotations

from shopcore_orders.expiry import expire_pending_orders
from shopcore_orders.idempotency import purge_expired_keys
from shopcore_orders.settings import SETTINGS_KEY


def purge_idempotency_keys(env, args) -> int:
    request = env["request"]
    with request.tm:
        removed = purge_expired_keys(request.dbsession)
    print(f"purge-idempotency-keys: {removed} expired key(s) removed")
    return 0


def expire_orders(env, args) -> int:
    registry = env["registry"]
    expired = expire_pending_orders(registry)
    print(f"expire-orders: {len(expired)} unpaid order(s) older than {registry[SETTINGS_KEY].pending_ttl} "
          f"cancelled, their stock returned")
    return 0
