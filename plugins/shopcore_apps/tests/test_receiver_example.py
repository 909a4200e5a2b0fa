"""The README's receiver code, run as it is in a receiver in the test process: a real delivery passes, the
same request replayed later (an old timestamp), a tampered body and another secret's signature do not."""
from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from pathlib import Path

from shopcore.testing import request_context
from shopcore.testing.messaging import WorkerThread
from shopcore_apps.webhooks import WebhookService
from shopcore_catalog.api import CatalogService

README = Path(__file__).resolve().parents[1] / "README.md"
SECRET = "receiver-secret-0123456789"


def readme_receiver() -> dict:
    text = README.read_text()
    block = re.search(r"<!-- receiver-example[^>]*-->\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    return namespace


def post(url: str, headers: dict, body: bytes) -> int:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request("POST", parts.path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_documented_receiver_accepts_a_delivery_and_refuses_replays_and_forgeries(messaging_app, broker_url,
                                                                                      webhook_receiver):
    code = readme_receiver()
    webhook_receiver.verify = lambda headers, body: code["verify_webhook"](SECRET, headers, body)
    registry = messaging_app(**{"shopcore.broker_url": broker_url})
    with request_context(registry) as request:
        WebhookService(request, None).create({"url": webhook_receiver.url, "events": ["product.*"], "secret": SECRET})
    with request_context(registry) as request:
        request.find_service(CatalogService).create_product("Signed lamp", "5.00")
    with WorkerThread(registry):
        [genuine] = webhook_receiver.wait_for(1, timeout=30)
    headers = {name: value for name, value in genuine.headers.items()
               if name.startswith("x-shopcore-") or name == "content-type"}
    assert post(webhook_receiver.url, headers, genuine.body) == 200  # the same request again, still fresh

    old = str(int(genuine.headers["x-shopcore-timestamp"]) - code["TOLERANCE"] - 1)
    assert not code["verify_webhook"](SECRET, {**headers, "x-shopcore-timestamp": old}, genuine.body)
    assert code["verify_webhook"](SECRET, headers, genuine.body,
                                  now=int(genuine.headers["x-shopcore-timestamp"]) + 10)
    # A replay long after: the receiver's clock has moved on past the tolerance.
    later = int(genuine.headers["x-shopcore-timestamp"]) + code["TOLERANCE"] + 1
    assert not code["verify_webhook"](SECRET, headers, genuine.body, now=later)
    assert post(webhook_receiver.url, {**headers, "x-shopcore-timestamp": old}, genuine.body) == 401
    assert post(webhook_receiver.url, headers, genuine.body.replace(b"5.00", b"0.01")) == 401
    forged = dict(headers, **{"x-shopcore-signature": "sha256=" + "0" * 64})
    assert post(webhook_receiver.url, forged, genuine.body) == 401
    assert [item.answered for item in webhook_receiver.received] == [200, 200, 401, 401, 401]
    assert time.time() - int(genuine.headers["x-shopcore-timestamp"]) < 60
