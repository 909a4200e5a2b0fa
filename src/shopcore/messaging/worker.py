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
import queue
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from kombu import Consumer as KombuConsumer
from kombu.mixins import ConsumerMixin

from shopcore.messaging.broker import JobMessage, broker_connection, durable_queue
from shopcore.messaging.outbox import OPTIONS, PUBLISHER, purge_finished
from shopcore.messaging.processing import Outcome, process_job
from shopcore.messaging.relay import relay_once
from shopcore.messaging.state import PERIODIC_TASKS

log = logging.getLogger(__name__)

# Pause before handing a message back when the database is unreachable, so the worker does not spin.
DATABASE_DOWN_PAUSE = 1.0


# While jobs run in threads, the consume loop looks this often for finished ones to ack.
SETTLE_INTERVAL = 0.005

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
        # Queues whose jobs run in threads (`add_job_handler(..., concurrency=N)`); never on SQLite,
        # which writes one transaction at a time.
        from shopcore.messaging import queue_concurrency

        sqlite = registry["shopcore.engine"].dialect.name == "sqlite"
        self.concurrency = {name: 1 if sqlite else queue_concurrency(registry, name) for name in self.queues}
        threads = sum(n for n in self.concurrency.values() if n > 1)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="shopcore-job") if threads else None
        self.finished: queue.SimpleQueue = queue.SimpleQueue()
        self.in_flight = 0
        self._live_connection = None

    def run(self, _tokens=1, **kwargs):
        # The consume loop wakes at least this often, so relay passes (retries) are not late.
        kwargs.setdefault("safety_interval", min(1.0, self.options.relay_interval))
        try:
            return super().run(_tokens, **kwargs)
        except WorkerStopped:
            log.info("stopped while the broker was unreachable")
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)

    def consume(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        """ConsumerMixin's loop, but polling every SETTLE_INTERVAL while jobs run in threads (so each is
        acked as soon as it is recorded), and, once stopped, settling those before it leaves."""
        with self.consumer_context(**kwargs) as (connection, _channel, _consumers):
            while not self.should_stop or self.in_flight:
                self.on_iteration()
                if self.should_stop:
                    time.sleep(SETTLE_INTERVAL)  # take nothing new; wait for the jobs in hand
                    continue
                try:
                    connection.drain_events(timeout=SETTLE_INTERVAL if self.in_flight else safety_interval)
                except socket.timeout:
                    connection.heartbeat_check()
                except OSError:
                    if not self.should_stop:
                        raise
                else:
                    yield

    @contextmanager
    def establish_connection(self):
        # ConsumerMixin's own version retries forever without looking at should_stop; kombu calls
        # `callback` before each attempt and every second of the wait between attempts.
        with self.create_connection() as connection:
            connection.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                         callback=self._leave_if_stopping)
            self._live_connection = connection
            yield connection

    def _leave_if_stopping(self) -> None:
        if self.should_stop:
            raise WorkerStopped()

    def get_consumers(self, Consumer, channel):
        self.publisher.declare(channel, self.queues)
        # Jobs handed back by threads of a connection that has since gone are redelivered by the broker.
        self.finished, self.in_flight = queue.SimpleQueue(), 0
        one_at_a_time = [name for name in self.queues if self.concurrency[name] == 1]
        consumers = [Consumer(queues=[durable_queue(name) for name in one_at_a_time], callbacks=[self.on_message],
                              accept=["json"], prefetch_count=1)] if one_at_a_time else []
        for name in self.queues:
            if self.concurrency[name] > 1:
                # A channel of its own: prefetch is counted per channel.
                consumers.append(KombuConsumer(self._live_connection.channel(), queues=[durable_queue(name)],
                                               callbacks=[self.on_threaded_message], accept=["json"],
                                               prefetch_count=self.concurrency[name]))
        return consumers

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        log.info("worker consuming %s on %s", ", ".join(self.queues), connection.as_uri())
        self.ready.set()

    def on_iteration(self):
        self.settle()
        self.relay.maybe_run()
        self.periodic.maybe_run()

    def on_connection_error(self, exc, interval):
        log.warning("broker unreachable (%s: %s); retrying in %.1f s", type(exc).__name__, exc, interval)

    def _message_id(self, body, message) -> str | None:
        message_id = body.get("id") if isinstance(body, dict) else None
        if not message_id:
            log.error("malformed job message %r dead-lettered", body)
            self.publisher.publish_dead_letter(JobMessage(str(message_id), str(body)[:100]), "malformed message", 0)
            message.ack()
            return None
        return str(message_id)

    def on_message(self, body, message) -> None:
        message_id = self._message_id(body, message)
        if message_id is None:
            return
        try:
            result = process_job(self.registry, message_id)
        except Exception:
            log.exception("job %s could not be run or recorded; handing it back to the broker", message_id)
            time.sleep(DATABASE_DOWN_PAUSE)
            message.requeue()
            return
        self._record(message, message_id, result)

    def on_threaded_message(self, body, message) -> None:
        message_id = self._message_id(body, message)
        if message_id is None:
            return
        self.in_flight += 1
        # The queue of this connection: a result coming back after a reconnection is left unacked there.
        self.pool.submit(self._run_in_thread, message_id, message, self.finished)

    def _run_in_thread(self, message_id: str, message, finished: queue.SimpleQueue) -> None:
        try:
            finished.put((message, message_id, process_job(self.registry, message_id)))
        except Exception:
            log.exception("job %s could not be run or recorded; handing it back to the broker", message_id)
            time.sleep(DATABASE_DOWN_PAUSE)
            finished.put((message, message_id, None))

    def settle(self) -> None:
        """On the consuming thread (channels are not thread-safe): ack what the threads finished."""
        while True:
            try:
                message, message_id, result = self.finished.get_nowait()
            except queue.Empty:
                return
            self.in_flight -= 1
            if result is None:
                message.requeue()
            else:
                self._record(message, message_id, result)

    def _record(self, message, message_id: str, result) -> None:
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
