"""Kombu plumbing: the durable job and dead-letter queues, confirmed publishing, reading dead letters."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Iterable

from kombu import Connection, Exchange, Queue

from shopcore.messaging.options import MessagingOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobMessage:
    """What goes over the wire: the outbox row's id and kind, never its payload.

    The worker reads the payload from the outbox row it locks, so personal data and secrets (a
    reset token) stay in the database and the broker holds nothing worth stealing.
    """

    id: str
    kind: str
    attempts: int = 0

    def body(self) -> dict:
        return {"id": self.id, "kind": self.kind}


def durable_queue(name: str) -> Queue:
    return Queue(name, Exchange(name, type="direct", durable=True), routing_key=name, durable=True)


def broker_connection(options: MessagingOptions) -> Connection:
    return Connection(
        options.broker_url,
        connect_timeout=options.publish_timeout,
        transport_options={
            # RabbitMQ: basic_publish returns only once the broker has taken the message.
            "confirm_publish": True,
            # Redis: how long a delivered but unacked message waits before it is delivered again.
            "visibility_timeout": options.visibility_timeout,
            "socket_connect_timeout": options.publish_timeout,
        },
    )


# A stale connection (broker restarted) is revived once; a dead broker fails after that, quickly.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


class Publisher:
    """Publishes job messages; one per process, a connection per thread kept between requests.

    `queue_of(kind)` names the queue of a job kind (the shared `options.queue` unless its handler has a
    queue of its own); its dead letters go to `<that queue>.dead`. `queue_names()` lists every queue.
    """

    def __init__(self, options: MessagingOptions, queue_of=None, queue_names=None):
        self.options = options
        self.queue = durable_queue(options.queue)
        self.dead_letter_queue = durable_queue(options.dead_letter_queue)
        self._queue_of = queue_of or (lambda kind: options.queue)
        self._queue_names = queue_names or (lambda: [options.queue])
        self._local = threading.local()
        self._open: set[Connection] = set()
        self._lock = threading.Lock()
        # After a failure, requests stop trying for a while (the relay publishes their jobs), so a
        # broker that swallows connections does not cost every request the connect timeout.
        self._paused_until = 0.0

    def _connection(self) -> Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = broker_connection(self.options)
            with self._lock:
                self._open.add(connection)
        return connection

    @staticmethod
    def _release(connection: Connection) -> None:
        try:
            connection.release()
        except Exception:  # closing a broken connection may fail again; it is dropped either way
            log.debug("closing a broken broker connection failed", exc_info=True)

    def _discard_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                self._open.discard(connection)
            self._release(connection)

    def _publish(self, body: dict, queue: Queue, message_id: str, headers: dict) -> None:
        connection = self._connection()
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2,
                                     timeout=self.options.publish_timeout)
        producer = connection.Producer(serializer="json")
        producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue],
                         delivery_mode="persistent", message_id=message_id, headers=headers,
                         retry=True, retry_policy=PUBLISH_RETRY_POLICY)

    def publish(self, messages: Iterable[JobMessage]) -> list[JobMessage]:
        """Publish in order; stops at the first failure and returns those the broker took."""
        published: list[JobMessage] = []
        if time.monotonic() < self._paused_until:
            return published
        for message in messages:
            try:
                self._publish(message.body(), durable_queue(self._queue_of(message.kind)), message.id,
                              {"kind": message.kind})
            except Exception as exc:
                self._discard_connection()
                self._paused_until = time.monotonic() + self.options.broker_pause
                log.warning("broker %s unavailable (%s: %s); jobs stay in the outbox, publishing again in "
                            "%.0f s", self.safe_url, type(exc).__name__, exc, self.options.broker_pause)
                break
            published.append(message)
        return published

    def publish_dead_letter(self, message: JobMessage, error: str, attempts: int) -> bool:
        body = {**message.body(), "error": error, "attempts": attempts}
        dead_letter_queue = durable_queue(f"{self._queue_of(message.kind)}.dead")
        try:
            self._publish(body, dead_letter_queue, message.id, {"kind": message.kind, "x-error": error[:500]})
        except Exception as exc:
            self._discard_connection()
            # The outbox row is marked failed already; `jobs-failed` lists it either way.
            log.error("could not dead-letter job %s to %s: %s: %s", message.id, dead_letter_queue.name,
                      type(exc).__name__, exc)
            return False
        return True

    def take_dead_letters(self, ids: set[str] | None) -> list[dict]:
        """Remove the dead letters of `ids` (all when None) from the dead-letter queue; return their bodies.

        Others are left unacknowledged and so return to the queue when the connection closes.
        """
        taken = []
        with broker_connection(self.options) as connection:
            connection.ensure_connection(max_retries=1, timeout=self.options.publish_timeout)
            for name in self._queue_names():
                queue = durable_queue(f"{name}.dead")(connection.default_channel)
                queue.declare()
                while True:
                    message = queue.get(no_ack=False, accept=["json"])
                    if message is None:
                        break
                    body = message.payload
                    if ids is None or str(body.get("id")) in ids:
                        message.ack()
                        taken.append(body)
        return taken

    def queue_names(self) -> list[str]:
        return list(self._queue_names())

    def declare(self, channel, names=None) -> None:
        for name in names or self._queue_names():
            durable_queue(name)(channel).declare()
            durable_queue(f"{name}.dead")(channel).declare()

    @property
    def safe_url(self) -> str:
        return broker_connection(self.options).as_uri()

    def close(self) -> None:
        """Close every thread's connection (at shutdown, when no thread publishes any more)."""
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            self._release(connection)
        self._local = threading.local()
