"""`shopcore-admin CONFIG purge-idempotency-keys`: drop Idempotency-Keys older than 24 hours."""
from __future__ import annotations

from shopcore_orders.idempotency import purge_expired_keys


def purge_idempotency_keys(env, args) -> int:
    request = env["request"]
    with request.tm:
        removed = purge_expired_keys(request.dbsession)
    print(f"purge-idempotency-keys: {removed} expired key(s) removed")
    return 0
