"""Test kit for messaging and mail: a real SMTP server in the test process, real brokers, worker helpers.

Import the fixtures into a conftest (`from shopcore.messaging.testing import *`):
- `smtp_server`: an aiosmtpd server on 127.0.0.1 (random port) recording what it accepts; it can be
  told to refuse the next N messages, with a temporary (451) or permanent (550) answer.
- `broker_url`: parametrized over RabbitMQ (SHOPCORE_TEST_BROKER_URL) and Redis as a broker
  (SHOPCORE_TEST_REDIS_URL); each test's queue name is unique, and its queues are deleted after.
- `messaging_app`: builds an app of its own on the test database with real commits (settings
  overridden per test), for tests where a worker thread or process must see the data; its WSGI
  app is `registry["shopcore.test_wsgi_app"]`.
- `WorkerThread`: runs the worker in a thread of the test process, stopped and joined at the end.
"""
from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from collections import deque
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from shopcore.testing import make_test_configurator, require_service

__all__ = ["smtp_server", "broker_url", "messaging_app", "unique_queue", "WorkerThread", "SmtpServer",
           "wait_until", "worker_command", "write_ini", "worker_environment"]

DEFAULT_WAIT = 15.0


def wait_until(predicate, timeout: float = DEFAULT_WAIT, interval: float = 0.02, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --- SMTP ----------------------------------------------------------------------------------------

class RecordingHandler:
    """aiosmtpd handler: keeps every accepted message; refuses while refusals are queued."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes = []
        self.refusals: deque[str] = deque()
        self.refused = 0
        self.data_started = threading.Event()
        self.delay = 0.0
        self.condition = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        self.data_started.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.condition:
            if self.refusals:
                self.refused += 1
                return self.refusals.popleft()
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.condition.notify_all()
        return "250 2.0.0 OK"


class SmtpServer:
    def __init__(self, controller, handler: RecordingHandler):
        self.controller = controller
        self.handler = handler

    @property
    def host(self) -> str:
        return self.controller.hostname

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.condition:
            return list(self.handler.messages)

    def refuse(self, times: int, answer: str = "451 4.3.0 Try again later") -> None:
        with self.handler.condition:
            self.handler.refusals.extend([answer] * times)

    def wait_for(self, count: int, timeout: float = DEFAULT_WAIT) -> list[EmailMessage]:
        with self.handler.condition:
            if not self.handler.condition.wait_for(lambda: len(self.handler.messages) >= count, timeout):
                pytest.fail(f"SMTP server got {len(self.handler.messages)} message(s), expected {count} "
                            f"within {timeout} s")
            return list(self.handler.messages)

    def settings(self) -> dict:
        return {"shopcore.mail.backend": "smtp", "shopcore.mail.host": self.host,
                "shopcore.mail.port": str(self.port), "shopcore.mail.security": "none",
                "shopcore.notifications.smtp_timeout": "5"}


def start_smtp_server(handler: RecordingHandler | None = None, **kwargs) -> SmtpServer:
    from aiosmtpd.controller import Controller

    class RandomPortController(Controller):
        def _trigger_server(self):
            # Port 0 lets the system choose a free port; learn it before connecting.
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    handler = handler or RecordingHandler()
    controller = RandomPortController(handler, hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    return SmtpServer(controller, handler)


@pytest.fixture
def smtp_server():
    server = start_smtp_server()
    yield server
    server.controller.stop()


# --- brokers -------------------------------------------------------------------------------------

BROKERS = {"rabbitmq": "SHOPCORE_TEST_BROKER_URL", "redis": "SHOPCORE_TEST_REDIS_URL"}


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request) -> str:
    return require_service(BROKERS[request.param])


@pytest.fixture
def unique_queue() -> str:
    return f"shopcore-test-{os.getpid()}-{uuid.uuid4().hex[:10]}"


def delete_queues(url: str, names: list[str]) -> None:
    from kombu import Connection

    from shopcore.messaging.broker import durable_queue

    with Connection(url, connect_timeout=2) as connection:
        channel = connection.default_channel
        for name in names:
            queue = durable_queue(name)(channel)
            queue.delete()
            queue.exchange.delete()


# --- apps with real commits ------------------------------------------------------------------------

@pytest.fixture
def messaging_app(shopcore_settings, committed_db, tmp_path, unique_queue):
    """`messaging_app(**settings)` -> registry of a fresh app sharing the test database (real commits).

    Defaults: a mail folder of its own, this test's queue, fast retries and relay passes.
    """
    from shopcore.db import make_session_factory

    registries = []
    used_brokers: set[str] = set()

    def build(configure=None, **overrides):
        settings = {
            **shopcore_settings,
            "shopcore.mail.dir": str(tmp_path / "mail"),
            "shopcore.messaging.queue": unique_queue,
            "shopcore.messaging.retry_base": "0.05",
            "shopcore.messaging.retry_max": "0.2",
            "shopcore.messaging.relay_interval": "0.05",
            "shopcore.messaging.visibility_timeout": "1",
            "shopcore.messaging.publish_timeout": "2",
            **{key.replace("__", "."): value for key, value in overrides.items()},
        }
        config = make_test_configurator(settings, **{
            "shopcore.engine": committed_db,
            "shopcore.dbsession_factory": make_session_factory(committed_db),
        })
        if configure is not None:
            configure(config)
            config.commit()
        # The worker-as-a-process tests write these to an ini file; HTTP tests call the WSGI app.
        config.registry["shopcore.test_settings"] = settings
        config.registry["shopcore.test_wsgi_app"] = config.make_wsgi_app()
        registries.append(config.registry)
        # Only the real test brokers have queues to delete; dead or silent ones were never reached.
        if settings.get("shopcore.broker_url") in {os.environ.get(name) for name in BROKERS.values()}:
            used_brokers.add(settings["shopcore.broker_url"])
        return config.registry

    yield build
    for registry in registries:
        publisher = registry.get("shopcore.messaging.publisher")
        if publisher is not None:
            publisher.close()
    for url in used_brokers:
        delete_queues(url, [unique_queue, f"{unique_queue}.dead"])


class WorkerThread:
    """`with WorkerThread(registry) as worker:` consumes in a thread until the block ends."""

    def __init__(self, registry):
        from shopcore.messaging.worker import make_worker

        self.worker = make_worker(registry)
        self.thread = threading.Thread(target=self.worker.run, name="test-worker", daemon=True)

    def __enter__(self):
        self.thread.start()
        if not self.worker.ready.wait(DEFAULT_WAIT):
            pytest.fail("worker did not start consuming")
        return self.worker

    def __exit__(self, *exc_info):
        self.worker.stop()
        self.thread.join(DEFAULT_WAIT)
        assert not self.thread.is_alive(), "worker thread did not stop"


# --- the worker as a process -----------------------------------------------------------------------

def write_ini(path: Path, settings: dict) -> Path:
    lines = ["[app:main]", "use = egg:shopcore"]
    for key, value in settings.items():
        lines.append(f"{key} = {str(value).replace('%', '%%')}")
    lines += ["", "[loggers]", "keys = root", "", "[handlers]", "keys = console", "", "[formatters]",
              "keys = generic", "", "[logger_root]", "level = INFO", "handlers = console", "",
              "[handler_console]", "class = StreamHandler", "args = (sys.stderr,)", "level = NOTSET",
              "formatter = generic", "", "[formatter_generic]",
              "format = %(asctime)s %(levelname)-5.5s [%(name)s] %(message)s", ""]
    path.write_text("\n".join(lines))
    return path


def worker_environment() -> dict:
    """This process's environment without the variables the app reads, so only the ini decides."""
    from shopcore.settings import SETTINGS

    names = {name for setting in SETTINGS for name in setting.env}
    names |= {"DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT"}
    return {key: value for key, value in os.environ.items() if key not in names}


def worker_command(ini: Path, crash_on_ack: bool = False) -> list[str]:
    if not crash_on_ack:
        return [sys.executable, "-m", "shopcore.scripts.worker", str(ini)]
    # Fault injection from outside the code under test: the process dies (SIGKILL, no cleanup) at the
    # moment it would ack, that is after the mail was sent and recorded and before the broker knows.
    script = (
        "import os, signal, sys\n"
        "import kombu.message\n"
        "def die(self, *args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "kombu.message.Message.ack = die\n"
        "from shopcore.scripts.worker import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return [sys.executable, "-c", script, str(ini)]
