"""The worker: consumes job messages, runs each once, acks only after its result is recorded.

- Acks after the job's new state is committed, so a worker killed before the ack gets the message
  redelivered, finds the job done and sends nothing twice.
- A failed try is acked and rescheduled in the outbox (exponential backoff) and the relay publishes it
  again when due; this works the same on RabbitMQ and Redis, which have no common delayed delivery.
- The last failed try is also published to `<queue>.dead` with its error.
- `stop()` (SIGTERM) lets the message in hand finish, then leaves the consume loop. While the broker
  is unreachable there is no message in hand, so a stop also ends the reconnection attempts (within
  about a second: kombu calls back once a second while it waits between attempts).
- Every `relay_interval` seconds it runs a relay pass. Without a broker it only does that: the
  relay then runs due jobs in process (development).
- It runs the periodic tasks plugins registered (`config.add_periodic_task`), each every its own
  interval, between messages.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager

from kombu.mixins import ConsumerMixin

from shopcore.messaging.broker import JobMessage, broker_connection, durable_queue
from shopcore.messaging.outbox import OPTIONS, PUBLISHER, purge_finished
from shopcore.messaging.processing import Outcome, process_job
from shopcore.messaging.relay import relay_once
from shopcore.messaging.state import PERIODIC_TASKS

log = logging.getLogger(__name__)

# Pause before handing a message back when the database is unreachable, so the worker does not spin.
DATABASE_DOWN_PAUSE = 1.0


# Finished jobs are deleted this often (not on every relay pass: it scans the finished rows).
PURGE_INTERVAL = 3600.0


class PeriodicRelay:
    def __init__(self, registry, interval: float):
        self.registry = registry
        self.interval = interval
        self.next_run = 0.0
        self.next_purge = 0.0

    def maybe_run(self) -> None:
        now = time.monotonic()
        if now < self.next_run:
            return
        self.next_run = now + self.interval
        try:
            relay_once(self.registry)
            if now >= self.next_purge:
                self.next_purge = now + PURGE_INTERVAL
                purged = purge_finished(self.registry, self.registry[OPTIONS].keep_done_days)
                if purged:
                    log.info("deleted %d finished job(s) from the outbox", purged)
        except Exception:
            log.exception("relay pass failed; trying again in %.1f s", self.interval)


class WorkerStopped(Exception):
    """Raised inside kombu's reconnection loop once a stop was asked for, to leave it."""


class PeriodicTasks:
    """The plugins' periodic tasks: each runs when the worker starts, then every its interval."""

    def __init__(self, registry):
        self.registry = registry
        self.tasks = dict(registry.get(PERIODIC_TASKS, {}))
        self.next_runs = dict.fromkeys(self.tasks, 0.0)

    @property
    def next_due(self) -> float:
        return min(self.next_runs.values(), default=float("inf"))

    def maybe_run(self) -> None:
        for name, (task, interval) in self.tasks.items():
            now = time.monotonic()
            if now < self.next_runs[name]:
                continue
            self.next_runs[name] = now + interval
            try:
                task(self.registry)
            except Exception:
                log.exception("periodic task %s failed; it runs again in %.1f s", name, interval)


class JobConsumer(ConsumerMixin):
    def __init__(self, registry, queues: list[str] | None = None):
        from shopcore.messaging import queue_names

        self.registry = registry
        self.options = registry[OPTIONS]
        self.publisher = registry[PUBLISHER]
        # Every queue jobs go to unless told otherwise (`shopcore-worker CONFIG --queue NAME`).
        self.queues = list(queues or queue_names(registry))
        self.connection = broker_connection(self.options)
        self.relay = PeriodicRelay(registry, self.options.relay_interval)
        self.periodic = PeriodicTasks(registry)
        self.ready = threading.Event()  # set once consuming; tests wait on it
        self.handled = 0

    def run(self, _tokens=1, **kwargs):
        # The consume loop wakes at least this often, so relay passes (retries) are not late.
        kwargs.setdefault("safety_interval", min(1.0, self.options.relay_interval))
        try:
            return super().run(_tokens, **kwargs)
        except WorkerStopped:
            log.info("stopped while the broker was unreachable")

    @contextmanager
    def establish_connection(self):
        # ConsumerMixin's own version retries forever without looking at should_stop; kombu calls
        # `callback` before each attempt and every second of the wait between attempts.
        with self.create_connection() as connection:
            connection.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                         callback=self._leave_if_stopping)
            yield connection

    def _leave_if_stopping(self) -> None:
        if self.should_stop:
            raise WorkerStopped()

    def get_consumers(self, Consumer, channel):
        self.publisher.declare(channel, self.queues)
        return [Consumer(queues=[durable_queue(name) for name in self.queues], callbacks=[self.on_message],
                         accept=["json"], prefetch_count=1)]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        log.info("worker consuming %s on %s", ", ".join(self.queues), connection.as_uri())
        self.ready.set()

    def on_iteration(self):
        self.relay.maybe_run()
        self.periodic.maybe_run()

    def on_connection_error(self, exc, interval):
        log.warning("broker unreachable (%s: %s); retrying in %.1f s", type(exc).__name__, exc, interval)

    def on_message(self, body, message) -> None:
        message_id = body.get("id") if isinstance(body, dict) else None
        if not message_id:
            log.error("malformed job message %r dead-lettered", body)
            self.publisher.publish_dead_letter(JobMessage(str(message_id), str(body)[:100]), "malformed message", 0)
            message.ack()
            return
        try:
            result = process_job(self.registry, str(message_id))
        except Exception:
            log.exception("job %s could not be run or recorded; handing it back to the broker", message_id)
            time.sleep(DATABASE_DOWN_PAUSE)
            message.requeue()
            return
        if result.outcome is Outcome.FAILED:
            self.publisher.publish_dead_letter(JobMessage(str(message_id), result.kind), result.error,
                                               result.attempts)
        message.ack()
        self.handled += 1

    def stop(self) -> None:
        self.should_stop = True


class InProcessRunner:
    """The worker without a broker: relay passes that run due jobs (retries) in this process."""

    def __init__(self, registry):
        self.registry = registry
        self.relay = PeriodicRelay(registry, registry[OPTIONS].relay_interval)
        self.periodic = PeriodicTasks(registry)
        self.ready = threading.Event()
        self._stop = threading.Event()

    def run(self) -> None:
        log.info("no broker configured: running due outbox jobs in process every %.1f s", self.relay.interval)
        self.ready.set()
        while not self._stop.is_set():
            self.relay.maybe_run()
            self.periodic.maybe_run()
            next_due = min(self.relay.next_run, self.periodic.next_due)
            self._stop.wait(max(0.0, min(self.relay.interval, next_due - time.monotonic())))

    def stop(self) -> None:
        self._stop.set()


def make_worker(registry, queues: list[str] | None = None) -> JobConsumer | InProcessRunner:
    """The worker for this registry; `queues` (broker queue names) limits what it consumes."""
    return InProcessRunner(registry) if registry.get(PUBLISHER) is None else JobConsumer(registry, queues)
