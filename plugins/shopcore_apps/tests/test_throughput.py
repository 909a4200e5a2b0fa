"""How many webhooks one worker delivers a second to a local receiver (the figure is in the README).

The deliveries are made first (one transaction emitting N events), then one worker thread sends them
all to a receiver in this same process, which shares the worker's CPU (and GIL): the figure is a floor.
`SHOPCORE_WEBHOOK_BENCH_COUNT` changes N (default 600). The assertion is a loose floor, so a loaded
machine does not fail the suite; the printed rate is the measurement.
"""
from __future__ import annotations

import os
import time

from sqlalchemy import func, select

from shopcore.testing import request_context
from shopcore.testing.messaging import WorkerThread, wait_until
from shopcore_apps.models import SUCCEEDED, WebhookDelivery
from shopcore_apps.webhooks import WebhookService
from shopcore_catalog.api import CatalogService

COUNT = int(os.environ.get("SHOPCORE_WEBHOOK_BENCH_COUNT", "600"))
FLOOR = 40  # deliveries a second; what the README states was measured, this only catches a collapse


def succeeded(registry) -> int:
    with registry["shopcore.dbsession_factory"]() as session:
        return session.scalar(select(func.count()).select_from(WebhookDelivery)
                              .where(WebhookDelivery.status == SUCCEEDED))


def test_one_worker_delivers_hundreds_of_webhooks_a_second(messaging_app, broker_url, webhook_receiver):
    registry = messaging_app(**{"shopcore.broker_url": broker_url})
    with request_context(registry) as request:
        WebhookService(request, None).create({"url": webhook_receiver.url, "events": ["product.created"]})
    with request_context(registry) as request:
        catalog = request.find_service(CatalogService)
        for n in range(COUNT):
            catalog.create_product(f"Bench {n}", "1.00")
    with WorkerThread(registry):
        started = time.monotonic()
        wait_until(lambda: succeeded(registry) == COUNT, timeout=max(60, COUNT / FLOOR), interval=0.05,
                   what=f"{COUNT} deliveries")
        elapsed = time.monotonic() - started
    rate = COUNT / elapsed
    print(f"\n{broker_url.split(':')[0]}: {COUNT} webhooks in {elapsed:.2f} s = {rate:.0f} deliveries/s")
    assert len(webhook_receiver.received) == COUNT
    assert rate >= FLOOR
