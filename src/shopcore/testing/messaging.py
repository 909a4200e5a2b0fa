"""Messaging in tests: real brokers, apps with real commits a worker can see, the worker in a thread or a
process, and polling for what happens asynchronously.

- `broker_url`: parametrized over RabbitMQ (SHOPCORE_TEST_BROKER_URL) and Redis as a broker
  (SHOPCORE_TEST_REDIS_URL); each test's queue name (`unique_queue`) is unique, and its queues are
  deleted after.
- `messaging_app`: builds an app of its own on the test database with real commits (settings
  overridden per test), for tests where a worker thread or process must see the data; its WSGI
  app is `registry["shopcore.test_wsgi_app"]`.
- `WorkerThread`: runs the worker in a thread of the test process, stopped and joined at the end.
- `write_ini`, `worker_command`, `worker_environment`: the worker as a process of its own.
- `wait_until(predicate)`: polls until something asynchronous happened.

The SMTP server mail tests send to is the notifications plugin's (`shopcore_notifications.testing`).
"""
from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from shopcore.testing.app import make_test_configurator
from shopcore.testing.services import require_service

__all__ = ["BROKERS", "DEFAULT_WAIT", "WorkerThread", "broker_url", "delete_queues", "messaging_app",
           "unique_queue", "wait_until", "worker_command", "worker_environment", "write_ini"]

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
    queues = {unique_queue}

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
        from shopcore.messaging import queue_names

        queues.update(queue_names(config.registry))
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
        delete_queues(url, [name for queue in sorted(queues) for name in (queue, f"{queue}.dead")])


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
