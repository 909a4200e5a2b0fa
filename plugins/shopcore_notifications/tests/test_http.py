"""End to end through the accounts endpoints: the mails their requests cause."""
import re
import time

import webtest

from shopcore.messaging.outbox import outbox_status
from shopcore.testing.messaging import WorkerThread, wait_until

DEAD_BROKERS = {"rabbitmq": "amqp://guest:guest@127.0.0.1:1//", "redis": "redis://127.0.0.1:1/0"}


def client(registry) -> webtest.TestApp:
    return webtest.TestApp(registry["shopcore.test_wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})


def register(app, username: str):
    return app.post_json("/api/auth/register/", {"username": username, "email": f"{username}@example.com",
                                                 "password": "a long passphrase 42"}, status=201)


def test_registering_sends_the_welcome_mail(mail_app, smtp_server):
    app = client(mail_app())
    register(app, "kim")
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "kim@example.com" and message["Subject"] == "Welcome to Test Shop, kim"


def test_the_reset_mail_link_resets_the_password(mail_app, smtp_server):
    app = client(mail_app())
    register(app, "lee")
    answer = app.post_json("/api/auth/password/reset/", {"email": "lee@example.com"}, status=200)
    assert answer.json == {"detail": "Password reset e-mail has been sent."}
    reset = [m for m in smtp_server.wait_for(2) if "password" in m["Subject"]][0]
    text = reset.get_body(preferencelist=("plain",)).get_content()
    uid, token = re.search(r"[?&]uid=([^&\s]+)&token=([^&\s]+)", text).groups()
    app.post_json("/api/auth/password/reset/confirm/",
                  {"uid": uid, "token": token, "new_password": "another long passphrase 7"}, status=204)
    app.post_json("/api/auth/login/", {"username": "lee", "password": "another long passphrase 7"}, status=200)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(mail_app, smtp_server):
    registry = mail_app()
    app = client(registry)
    answer = app.post_json("/api/auth/password/reset/", {"email": "nobody@example.com"}, status=200)
    assert answer.json == {"detail": "Password reset e-mail has been sent."}
    # The request's own job (which looks the address up) ran; it mailed nothing.
    assert outbox_status(registry, kind_prefix="mail.").pending == outbox_status(registry, kind_prefix="mail.").done == 0
    assert outbox_status(registry, kind_prefix="accounts.").done == 1
    assert smtp_server.messages == []


def test_with_the_broker_down_registration_answers_201_and_the_mail_follows(
        mail_app, smtp_server, broker_url, request):
    dead = DEAD_BROKERS[request.node.callspec.params["broker_url"]]
    web = mail_app(**{"shopcore.broker_url": dead})
    started = time.monotonic()
    register(client(web), "max")
    elapsed = time.monotonic() - started
    assert elapsed < 3
    status = outbox_status(web)
    assert (status.pending, status.published) == (1, 0)

    with WorkerThread(mail_app(**{"shopcore.broker_url": broker_url})):
        [message] = smtp_server.wait_for(1)
        wait_until(lambda: outbox_status(web).done == 1, what="the mail to be recorded sent")
    assert message["To"] == "max@example.com"
    assert outbox_status(web).pending == 0
