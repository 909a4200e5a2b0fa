"""Fixtures of the stripe plugin's tests: localstripe (a stateful fake Stripe server, installed by the
plugin's `testing` extra) started as a process of its own on a free port, the shop served over real HTTP
on loopback with localstripe's webhooks pointed at it, and Stripe.js played by the official SDK.

The SDK under test is the shop's: `shopcore.stripe.api_base` points it at localstripe. localstripe
sends a webhook about a second after the event, signed with the secret configured here; the
`Stripe-Signature` it sends is verified by the SDK as Stripe's own would be.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import stripe
from sqlalchemy import select

from shopcore.testing import request_context, wait_until
from shopcore_cart.api import CartService
from shopcore_catalog.api import CatalogService

SECRET_KEY = "sk_test_shopcore"
WEBHOOK_SECRET = "whsec_shopcore_tests"
CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DECLINED_CARD = {**CARD, "number": "4000000000000341"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def localstripe_command() -> list[str]:
    found = Path(sys.executable).with_name("localstripe")
    if found.exists():
        return [str(found)]
    return [shutil.which("localstripe") or "localstripe"]


class LocalStripe:
    """A localstripe process: its URL, and its `_config` endpoints."""

    def __init__(self, port: int, process: subprocess.Popen):
        self.port = port
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    def _call(self, method: str, path: str, body: dict | None = None) -> None:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def flush(self) -> None:
        self._call("DELETE", "/_config/data")

    def send_webhooks_to(self, url: str, secret: str = WEBHOOK_SECRET, name: str = "shop") -> None:
        self._call("POST", f"/_config/webhooks/{name}", {"url": url, "secret": secret})


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    port = free_port()
    log = (tmp_path_factory.mktemp("localstripe") / "localstripe.log").open("wb")
    process = subprocess.Popen([*localstripe_command(), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    server = LocalStripe(port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"localstripe did not start on port {port} (see {log.name})")
            time.sleep(0.1)
    yield server
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return ["catalog", "cart", "orders", "notifications", "payments", "stripe"]


@pytest.fixture(scope="module")
def stripe_capture_method() -> str:
    """`shopcore.stripe.capture_method` of the module's shop (a module overrides it for `automatic`)."""
    return "manual"


@pytest.fixture(scope="module")
def shopcore_extra_settings(localstripe, stripe_capture_method):
    return {"shopcore.payments.providers": "stripe simulated", "shopcore.stripe.secret_key": SECRET_KEY,
            "shopcore.stripe.webhook_secret": WEBHOOK_SECRET, "shopcore.stripe.api_base": localstripe.url,
            "shopcore.stripe.capture_method": stripe_capture_method, "shopcore.stripe.timeout": "10"}


class RecordingApp:
    """WSGI middleware keeping each webhook request's body and signature, to replay one as sent."""

    def __init__(self, app):
        self.app = app
        self.webhooks: list[tuple[bytes, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/api/payments/webhooks/"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            with self.lock:
                self.webhooks.append((body, environ.get("HTTP_STRIPE_SIGNATURE", "")))
            import io

            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


class StripeShop:
    """The shop over real HTTP, localstripe sending it webhooks, and Stripe.js played by the SDK."""

    def __init__(self, registry, live_server, localstripe, recorder):
        self.registry = registry
        self.http = live_server
        self.localstripe = localstripe
        self.recorder = recorder
        self.stripe = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe.url}, max_network_retries=0)

    def request(self, method, path, token=None, body=None, headers=None):
        return self.http.request(method, path, token or "", body, headers)

    def user(self, username: str, *, admin: bool = False) -> tuple[int, str]:
        from shopcore.accounts.services import create_user
        from shopcore.accounts.tokens import issue_token_pair

        with request_context(self.registry) as request:
            user_id = create_user(request, username=username, email=f"{username}@example.com",
                                  password="correct horse battery staple", is_admin=admin).id
        with request_context(self.registry) as request:
            return user_id, issue_token_pair(request, user_id)["access"]

    def order(self, user_id: int, token: str, price: str = "12.50", quantity: int = 2) -> dict:
        with request_context(self.registry) as request:
            product = request.find_service(CatalogService).create_product(f"Lamp {time.monotonic_ns()}", price,
                                                                          stock=50).id
        with request_context(self.registry) as request:
            request.find_service(CartService).add_item(user_id, product, quantity)
        status, body, _ = self.request("POST", "/api/orders/checkout/", token, CHECKOUT)
        assert status == 201, body
        return body

    def card(self, card: dict = CARD) -> str:
        return self.stripe.v1.payment_methods.create(params={"type": "card", "card": card}).id

    def authorise(self, intent_id: str, card: dict = CARD) -> dict:
        """What Stripe.js does with the client secret: the customer's card on the intent, confirmed."""
        self.stripe.v1.payment_intents.update(intent_id, params={"payment_method": self.card(card)})
        return self.stripe.v1.payment_intents.confirm(intent_id).to_dict()

    def intent(self, intent_id: str) -> dict:
        return self.stripe.v1.payment_intents.retrieve(intent_id).to_dict()

    def refunds(self, intent_id: str) -> list[dict]:
        return [r.to_dict() for r in self.stripe.v1.refunds.list(params={"payment_intent": intent_id}).data]

    def payment(self, payment_id: int):
        from shopcore_payments.models import Payment

        with request_context(self.registry) as request:
            return request.dbsession.get(Payment, payment_id)

    def reference(self, payment_id: int) -> str:
        return self.payment(payment_id).reference

    def mails(self, order_id: int) -> list[str]:
        from shopcore.messaging.models import OutboxMessage

        with request_context(self.registry) as request:
            return [row.kind for row in request.dbsession.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))
                    if (row.payload.get("order") or {}).get("id") == order_id]

    def processed_events(self) -> list[tuple[str, str]]:
        from shopcore_payments.models import WebhookEvent

        with request_context(self.registry) as request:
            return [(e.event_type, e.event_id) for e in request.dbsession.scalars(select(WebhookEvent))]

    def payment_events_for(self, reference: str) -> list[str]:
        """The types of localstripe's events about this payment that the shop has applied (or found applied)."""
        applied = set(dict((event_id, kind) for kind, event_id in self.processed_events()))
        return [json.loads(body)["type"] for body, _signature in list(self.recorder.webhooks)
                if json.loads(body)["data"]["object"]["id"] == reference and json.loads(body)["id"] in applied]

    def wait_for_webhook(self, event_type: str, reference: str, timeout: float = 20) -> None:
        """Until the shop has received (and answered) localstripe's event of that type for the payment."""
        def arrived():
            for body, _signature in list(self.recorder.webhooks):
                event = json.loads(body)
                if event["type"] == event_type and event["data"]["object"]["id"] == reference:
                    return True
            return False

        wait_until(arrived, timeout=timeout, what=f"{event_type} for {reference}")


@pytest.fixture
def stripe_shop(shopcore_app, committed_db, localstripe):
    """The shop served on loopback (a thread per request), with localstripe's webhooks pointed at it."""
    from shopcore.testing.concurrency import LiveServer, _QuietHandler, _ThreadingWSGIServer

    localstripe.flush()
    recorder = RecordingApp(shopcore_app.wsgi_app)
    server = _ThreadingWSGIServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(recorder)
    thread = threading.Thread(target=server.serve_forever, name="stripe-shop", daemon=True)
    thread.start()
    port = server.server_address[1]
    localstripe.send_webhooks_to(f"http://127.0.0.1:{port}/api/payments/webhooks/stripe/")
    try:
        yield StripeShop(shopcore_app.registry, LiveServer(port), localstripe, recorder)
    finally:
        # Webhooks still under way (sent a second after their event) must not reach a torn-down shop.
        time.sleep(1.5)
        localstripe.send_webhooks_to("http://127.0.0.1:9/", name="shop")
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def pytest_configure(config):
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
