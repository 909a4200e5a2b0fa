"""The apps plugin's test kit (a pytest plugin, loaded by this package's `pytest11` entry point): a real
HTTP receiver for webhooks in the test process, and app keys.

- `webhook_receiver`: an HTTP/1.1 server on 127.0.0.1 (a free port, keep-alive) recording every POST
  (`received`, `wait_for(count)`); `fail(times, status=500)` answers the next ones with an error,
  `hang(times)` holds them without answering (longer than any test timeout), `recover()` answers 200
  again; `verify = function(headers, body) -> bool` makes it answer 401 to what the function refuses.
  `url` (`/hook`), `start_webhook_receiver(port=0)` makes another (on a given port: one back up).
- `make_app_key(scopes, name=None)` -> the key of a new app with these scopes (made through the apps
  service in the test's transaction); `app_key_headers(key)` -> the Authorization header.
"""
from __future__ import annotations

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shopcore.testing.messaging import DEFAULT_WAIT

__all__ = ["ReceivedWebhook", "WebhookReceiver", "app_key_headers", "make_app_key", "start_webhook_receiver",
           "webhook_receiver"]


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None  # None: held without an answer
    at: float = field(default_factory=time.monotonic)


class WebhookReceiver:
    def __init__(self):
        self.received: list[ReceivedWebhook] = []
        self.plan: deque[int | str] = deque()  # status codes, or "hang"
        self.condition = threading.Condition()
        self.release = threading.Event()  # set at stop: held requests end
        self.server: ThreadingHTTPServer | None = None
        self.hang_seconds = 60.0
        # verify(headers, body) -> bool: a receiver that checks signatures answers 401 when it says no.
        self.verify = None

    # --- behaviour -----------------------------------------------------------------------------------

    def fail(self, times: int = 1, status: int = 500) -> None:
        with self.condition:
            self.plan.extend([status] * times)

    def hang(self, times: int = 1) -> None:
        with self.condition:
            self.plan.extend(["hang"] * times)

    def recover(self) -> None:
        with self.condition:
            self.plan.clear()

    def _next_answer(self) -> int | str:
        with self.condition:
            return self.plan.popleft() if self.plan else 200

    def record(self, received: ReceivedWebhook) -> None:
        with self.condition:
            self.received.append(received)
            self.condition.notify_all()

    # --- reading -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def answered(self, status: int = 200) -> list[ReceivedWebhook]:
        with self.condition:
            return [item for item in self.received if item.answered == status]

    def wait_for(self, count: int, timeout: float = DEFAULT_WAIT, status: int | None = 200) -> list[ReceivedWebhook]:
        """Wait until `count` requests were answered `status` (any, with None); return them."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while True:
                got = [item for item in self.received if status is None or item.answered == status]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"webhook receiver: {len(got)} of {count} request(s) answered {status} "
                                f"after {timeout} s ({len(self.received)} received)")
                self.condition.wait(left)

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _handler_class(receiver: WebhookReceiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver answers

        def setup(self):
            super().setup()
            # Headers and body are two writes: without this each answer waits out the client's delayed ACK.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = receiver._next_answer()
            if receiver.verify is not None and answer != "hang" and not receiver.verify(headers, body):
                answer = 401
            if answer == "hang":
                receiver.record(ReceivedWebhook(self.path, headers, body, None))
                receiver.release.wait(receiver.hang_seconds)
                self.close_connection = True
                return
            receiver.record(ReceivedWebhook(self.path, headers, body, int(answer)))
            payload = b'{"ok":true}' if 200 <= int(answer) < 300 else b'{"error":"planned failure"}'
            self.send_response(int(answer))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):  # how many were answered 200: for a receiver running in a process of its own
            payload = str(len(receiver.answered(200))).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args):  # quiet: the test output is the record
            pass

    return Handler


def start_webhook_receiver(port: int = 0, receiver: WebhookReceiver | None = None) -> WebhookReceiver:
    receiver = receiver or WebhookReceiver()
    receiver.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(receiver))
    server.daemon_threads = True
    receiver.server = server
    threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
    return receiver


@pytest.fixture
def webhook_receiver():
    receiver = start_webhook_receiver()
    yield receiver
    receiver.stop()


def app_key_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def make_app_key(make_request, admin):
    """`make_app_key(["orders:read"])` -> the key of a new app holding these scopes."""
    from shopcore_apps.services import AppService

    def make(scopes, name: str | None = None, created_by: int | None = None) -> str:
        with make_request() as request:
            return AppService(request).create({"name": name or f"app {'/'.join(scopes) or 'no scopes'}",
                                               "scopes": list(scopes)}, created_by=created_by or admin)["key"]

    return make


def make_webhook_objects(registry, product_event) -> tuple[int, str]:
    """A subscription to every event (an outside URL that no test sends to) and a delivery of it, made by
    `product_event(registry)` emitting an event and finished (failed, as after its last try, so it may be
    redelivered); (subscription id, delivery id). For suites that need real ids of both, such as the
    reliability suite's attacks and its walk of admin actions."""
    from sqlalchemy import select, update

    from shopcore.testing import request_context
    from shopcore_apps.models import FAILED, WebhookDelivery
    from shopcore_apps.webhooks import WebhookService

    with request_context(registry) as request:
        subscription = WebhookService(request, None).create({"url": "https://receiver.example.com/hook",
                                                              "events": ["*"]})["id"]
    product_event(registry)
    with request_context(registry) as request:
        delivery = request.dbsession.scalar(select(WebhookDelivery.id).where(
            WebhookDelivery.subscription_id == subscription).limit(1))
        request.dbsession.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery)
                                  .values(status=FAILED, next_attempt_at=None))
    return subscription, str(delivery)


if __name__ == "__main__":  # `python -m shopcore_apps.testing`: a receiver in a process of its own
    import sys

    started = start_webhook_receiver()
    print(started.url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    started.stop()
