"""Mail through a real broker and worker to a real SMTP server: outages, refusals, crashes, shutdown."""
import os
import signal
import subprocess
import time

import pytest
from kombu import Connection
from sqlalchemy import select

from shopcore.accounts.events import UserRegistered
from shopcore.messaging.broker import durable_queue
from shopcore.messaging.commands import JobCommands
from shopcore.messaging.models import DONE, FAILED, PENDING, OutboxMessage
from shopcore.testing.messaging import (WorkerThread, wait_until, worker_command, worker_environment,
                                        write_ini)
from shopcore.testing import request_context

DEAD_BROKERS = {"rabbitmq": "amqp://guest:guest@127.0.0.1:1//", "redis": "redis://127.0.0.1:1/0"}
MAIL = JobCommands("mail", "mail.", "sent")


def outbox(registry):
    with registry["shopcore.dbsession_factory"]() as session:
        return list(session.scalars(select(OutboxMessage)))


def register(registry, username: str) -> None:
    with request_context(registry) as request:
        request.notify(UserRegistered(user_id=1, username=username, email=f"{username}@example.com"))


def queue_length(url: str, name: str) -> int:
    with Connection(url, connect_timeout=2) as connection:
        return durable_queue(name)(connection.default_channel).queue_declare()[1]


def dead_letters(url: str, name: str) -> list[dict]:
    bodies = []
    with Connection(url, connect_timeout=2) as connection:
        queue = durable_queue(f"{name}.dead")(connection.default_channel)
        while (message := queue.get(no_ack=False, accept=["json"])) is not None:
            bodies.append(message.payload)
    return bodies


def test_a_mail_goes_through_the_broker_and_the_worker(mail_app, smtp_server, broker_url, capsys):
    registry = mail_app(**{"shopcore.broker_url": broker_url})
    register(registry, "alice")
    assert smtp_server.messages == []  # the web side only published
    with WorkerThread(registry):
        [message] = smtp_server.wait_for(1)
        wait_until(lambda: outbox(registry)[0].status == DONE, what="the job to be recorded done")
    assert message["To"] == "alice@example.com"
    MAIL.status({"registry": registry}, None)
    assert "sent: 1" in capsys.readouterr().out


def test_with_the_broker_down_the_request_succeeds_and_the_mail_arrives_once_it_is_back(
        mail_app, smtp_server, broker_url, request, capsys):
    dead = DEAD_BROKERS[request.node.callspec.params["broker_url"]]
    web = mail_app(**{"shopcore.broker_url": dead})
    started = time.monotonic()
    register(web, "bob")
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"the request waited {elapsed:.2f} s for a dead broker"
    assert outbox(web)[0].status == PENDING
    MAIL.status({"registry": web}, None)
    assert "pending: 1 (0 published, 1 waiting" in capsys.readouterr().out

    worker_app = mail_app(**{"shopcore.broker_url": broker_url})
    with WorkerThread(worker_app):
        [message] = smtp_server.wait_for(1)
        wait_until(lambda: outbox(web)[0].status == DONE, what="the job to be recorded done")
    assert message["To"] == "bob@example.com"
    time.sleep(0.2)  # nothing more is coming
    assert len(smtp_server.messages) == 1
    print(f"request with the broker down: {elapsed * 1000:.0f} ms")


def test_a_refusing_smtp_server_is_retried_until_it_accepts(mail_app, smtp_server, broker_url):
    registry = mail_app(**{"shopcore.broker_url": broker_url, "shopcore.messaging.max_attempts": "5"})
    smtp_server.refuse(3)
    register(registry, "carol")
    with WorkerThread(registry):
        [message] = smtp_server.wait_for(1)
        wait_until(lambda: outbox(registry)[0].status == DONE, what="the job to be recorded done")
    assert smtp_server.handler.refused == 3
    [row] = outbox(registry)
    assert row.attempts == 4 and row.last_error is None
    assert message["To"] == "carol@example.com"


def test_a_mail_refused_every_time_is_dead_lettered_then_retried_by_command(
        mail_app, smtp_server, broker_url, unique_queue, capsys):
    registry = mail_app(**{"shopcore.broker_url": broker_url, "shopcore.messaging.max_attempts": "3"})
    smtp_server.refuse(3)
    register(registry, "dora")
    with WorkerThread(registry):
        wait_until(lambda: outbox(registry)[0].status == FAILED, what="the mail to be dead-lettered")
        [row] = outbox(registry)
        assert row.attempts == 3 and row.last_error.startswith("SMTPDataError: (451")
        [letter] = wait_until(lambda: dead_letters(broker_url, unique_queue), what="the dead letter")
        assert letter["id"] == str(row.id) and letter["kind"] == "mail.welcome"
        assert letter["attempts"] == 3 and "451" in letter["error"]

        env = {"registry": registry}
        MAIL.failed(env, None)
        listed = capsys.readouterr().out
        assert str(row.id) in listed and "mail.welcome" in listed and "451" in listed
        MAIL.status(env, None)
        assert "failed: 1" in capsys.readouterr().out

        MAIL.retry(env, type("Args", (), {"ids": [], "all": True})())
        assert "requeued 1" in capsys.readouterr().out
        [message] = smtp_server.wait_for(1)
        wait_until(lambda: outbox(registry)[0].status == DONE, what="the retried mail to be recorded")
    assert message["To"] == "dora@example.com"
    assert dead_letters(broker_url, unique_queue) == []


def test_a_permanently_refused_recipient_is_dead_lettered_at_once(mail_app, smtp_server, broker_url):
    registry = mail_app(**{"shopcore.broker_url": broker_url})
    smtp_server.refuse(1, "550 5.1.1 No such mailbox")
    register(registry, "ed")
    with WorkerThread(registry):
        wait_until(lambda: outbox(registry)[0].status == FAILED, what="the mail to be dead-lettered")
    [row] = outbox(registry)
    assert row.attempts == 1 and row.last_error.startswith("PermanentJobError: message refused: 550")


def worker_ini(registry, tmp_path, name="worker.ini"):
    return write_ini(tmp_path / name, registry["shopcore.test_settings"])


def test_a_worker_killed_between_send_and_ack_sends_no_second_mail(
        mail_app, smtp_server, broker_url, unique_queue, tmp_path):
    registry = mail_app(**{"shopcore.broker_url": broker_url})
    register(registry, "fay")
    log = (tmp_path / "crashing-worker.log").open("w")
    crashing = subprocess.Popen(worker_command(worker_ini(registry, tmp_path), crash_on_ack=True),
                                env=worker_environment(), stdout=log, stderr=subprocess.STDOUT)
    try:
        assert crashing.wait(timeout=60) == -signal.SIGKILL, (tmp_path / "crashing-worker.log").read_text()
    finally:
        crashing.kill()
        log.close()
    assert len(smtp_server.messages) == 1  # sent, recorded, never acked
    assert outbox(registry)[0].status == DONE

    # The broker hands the unacked message to the next worker, which finds it done.
    with WorkerThread(registry) as worker:
        wait_until(lambda: worker.handled >= 1, timeout=30, what="the redelivery")
    assert len(smtp_server.messages) == 1
    assert queue_length(broker_url, unique_queue) == 0


def test_sigterm_lets_the_worker_finish_the_mail_in_hand(mail_app, smtp_server, broker_url, unique_queue, tmp_path):
    registry = mail_app(**{"shopcore.broker_url": broker_url})
    smtp_server.handler.delay = 1.0  # the SMTP server takes its time over the message
    register(registry, "gus")
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(worker_command(worker_ini(registry, tmp_path)), env=worker_environment(),
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            assert smtp_server.handler.data_started.wait(60), log_path.read_text()
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0, log_path.read_text()
        finally:
            worker.kill()
    assert [m["To"] for m in smtp_server.messages] == ["gus@example.com"]
    assert outbox(registry)[0].status == DONE
    assert queue_length(broker_url, unique_queue) == 0  # acked before leaving
    assert "finishing the message in hand" in log_path.read_text()


@pytest.mark.postgresql_only  # concurrent workers rely on PostgreSQL row locks; SQLite development runs one
def test_two_workers_given_the_same_message_send_it_once(mail_app, smtp_server, broker_url, shopcore_engine):
    from shopcore.messaging.broker import JobMessage
    from shopcore.messaging.outbox import dispatch

    registry = mail_app(**{"shopcore.broker_url": broker_url})
    other = mail_app(**{"shopcore.broker_url": broker_url})
    smtp_server.handler.delay = 0.5  # both workers hold a copy while the first one is still sending
    with WorkerThread(registry) as first, WorkerThread(other) as second:
        register(registry, "hana")
        [row] = outbox(registry)
        dispatch(registry, [JobMessage(str(row.id), row.kind, 0)])
        wait_until(lambda: first.handled and second.handled, what="each worker to handle a copy")
    # (On Redis the tests' 1 s visibility timeout may hand a slow copy out once more; still one mail.)
    assert len(smtp_server.messages) == 1
