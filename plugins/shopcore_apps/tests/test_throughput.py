"""How many webhooks one worker delivers a second to a local receiver (the figure is in the README).

The deliveries are made first (one transaction emitting N events), then one worker thread sends them
all to a receiver in a process of its own on this machine (a Python http.server, one thread per
connection).
`SHOPCORE_WEBHOOK_BENCH_COUNT` changes N (default 600). The assertion is a loose floor, so a loaded
machine does not fail the suite; the printed rate is the measurement.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

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


@pytest.fixture
def receiver_process():
    """A webhook receiver in a process of its own (as a real one is), answering 200; its URL."""
    process = subprocess.Popen([sys.executable, "-m", "shopcore_apps.testing"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().strip()
    finally:
        process.stdin.close()
        process.wait(10)
        process.stdout.close()


def answered(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.read())


def test_one_worker_delivers_hundreds_of_webhooks_a_second(messaging_app, broker_url, receiver_process):
    # The production relay interval: the kit's fast one would add a relay pass every 50 ms.
    registry = messaging_app(**{"shopcore.broker_url": broker_url, "shopcore.messaging.relay_interval": "5"})
    with request_context(registry) as request:
        WebhookService(request, None).create({"url": receiver_process, "events": ["product.created"]})
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
    assert answered(receiver_process) == COUNT
    assert rate >= FLOOR
