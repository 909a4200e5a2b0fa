"""Expiring unpaid orders: pending orders older than `shopcore.orders.pending_ttl` are cancelled and
their stock returned, from `shopcore-worker` every `shopcore.orders.expire_interval` seconds and from
`shopcore-admin CONFIG expire-orders`.

The worker is the one process a deployment already runs next to the web processes, so no scheduler
(cron, beat) has to be added. Several workers may run it at once: each order is expired by one
conditional UPDATE, whichever worker (or paying customer) gets to it first.
"""
from __future__ import annotations

import contextlib
import datetime
import logging

from pyramid.scripting import prepare

from shopcore.clock import utcnow
from shopcore.db import SQLITE_WRITE_LOCK

from shopcore_orders.api import OrderService
from shopcore_orders.services import EXPIRY_BATCH
from shopcore_orders.settings import SETTINGS_KEY

log = logging.getLogger(__name__)


@contextlib.contextmanager
def transaction_request(registry):
    """A request outside HTTP with its own transaction: committed when the block ends, aborted on error."""
    env = prepare(registry=registry)
    request = env["request"]
    try:
        with request.tm:
            session = request.dbsession
            if session.get_bind().dialect.name == "sqlite":
                # Written from its first statement: take SQLite's write lock when the transaction begins.
                session.connection(execution_options={SQLITE_WRITE_LOCK: True})
            yield request
    finally:
        env["closer"]()


def expire_pending_orders(registry, *, now: datetime.datetime | None = None) -> list[int]:
    """Expire every due order, in transactions of at most EXPIRY_BATCH orders; their ids."""
    ttl = registry[SETTINGS_KEY].pending_ttl
    now = now or utcnow()
    expired: list[int] = []
    while True:
        with transaction_request(registry) as request:
            batch = request.find_service(OrderService).expire_pending(ttl, now=now)
        expired.extend(batch)
        if len(batch) < EXPIRY_BATCH:
            break
    if expired:
        log.info("expired %d unpaid order(s) older than %s: %s", len(expired), ttl,
                 ", ".join(map(str, expired[:20])) + (" ..." if len(expired) > 20 else ""))
    return expired


def expire_orders_task(registry) -> None:
    """The worker's periodic task."""
    expire_pending_orders(registry)
