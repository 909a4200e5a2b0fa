"""Issue 20, point 4 with the broker cut off for real: mails waiting in the outbox for a customer who
erases their account during the outage are never sent, while another customer's waiting mail is.

Web and worker reach RabbitMQ through a TCP proxy the test controls (as in `test_faults_broker.py`);
mail goes to a real SMTP server in the test process.
"""
from __future__ import annotations

import json
from urllib.parse import urlparse

import webtest
from sqlalchemy import select

from shopcore.messaging.models import DONE, OutboxMessage
from shopcore.messaging.outbox import CANCELLED_ERROR
from shopcore.testing import require_service
from shopcore.testing.messaging import WorkerThread, wait_until

PASSWORD = "correct horse battery staple"


def outbox(registry) -> list[OutboxMessage]:
    with registry["shopcore.dbsession_factory"]() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


def register(app, username):
    app.post_json("/api/auth/register/", {"username": username, "email": f"{username}@example.com",
                                          "password": PASSWORD}, status=201)
    return app.post_json("/api/auth/login/", {"username": username, "password": PASSWORD}).json["access"]


def test_mails_waiting_for_the_broker_are_cancelled_when_their_customer_erases_the_account(
        messaging_app, smtp_server, tcp_proxy):
    broker = urlparse(require_service("SHOPCORE_TEST_BROKER_URL"))
    proxy = tcp_proxy(broker.hostname, broker.port or 5672)
    proxied = broker._replace(netloc=f"{broker.username}:{broker.password}@127.0.0.1:{proxy.port}").geturl()
    web = messaging_app(**{"shopcore.broker_url": proxied, **smtp_server.settings()})
    app = webtest.TestApp(web["shopcore.test_wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    proxy.refuse()  # the broker is down: the welcome mails wait in the outbox
    leaving = register(app, "leaving")
    register(app, "staying")
    waiting = [row for row in outbox(web) if row.status != DONE]
    assert {row.payload["to"] for row in waiting} == {"leaving@example.com", "staying@example.com"}

    app.delete("/api/auth/user/", json.dumps({"password": PASSWORD}), content_type="application/json",
               headers={"Authorization": f"Bearer {leaving}"}, status=204)
    [cancelled] = [row for row in outbox(web) if row.last_error == CANCELLED_ERROR]
    assert (cancelled.status, cancelled.payload) == (DONE, {})

    proxy.restore()  # the broker is back: the relay publishes what still waits, the worker sends it
    with WorkerThread(web):
        wait_until(lambda: any(message["To"] == "staying@example.com" for message in smtp_server.messages),
                   timeout=30, what="the other customer's welcome mail after the broker came back")
        wait_until(lambda: all(row.status == DONE for row in outbox(web)), timeout=15,
                   what="every outbox row to be done")
    assert [message["To"] for message in smtp_server.messages] == ["staying@example.com"]
