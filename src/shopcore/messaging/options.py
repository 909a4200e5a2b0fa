"""Messaging settings (`shopcore.messaging.*`), parsed and checked once at start-up."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Mapping

from shopcore.settings import Setting, SettingsError


def _positive_number(value: Any) -> float:
    number = float(str(value).strip())
    if number <= 0:
        raise ValueError(f"expected a positive number, got {value!r}")
    return number


def _positive_int(value: Any) -> int:
    number = int(str(value).strip())
    if number <= 0:
        raise ValueError(f"expected a positive whole number, got {value!r}")
    return number


def _queue_name(value: Any) -> str:
    name = str(value).strip()
    if not name:
        raise ValueError("expected a queue name")
    return name


MESSAGING_SETTINGS: tuple[Setting, ...] = (
    Setting("shopcore.messaging.queue", "shopcore.jobs", _queue_name, (),
            "Durable queue the jobs go to; failures go to `<queue>.dead`."),
    Setting("shopcore.messaging.max_attempts", 5, _positive_int, (), "Tries of a job before it is dead-lettered."),
    Setting("shopcore.messaging.retry_base", 30, _positive_number, (),
            "Seconds before the first retry; doubled for each further one."),
    Setting("shopcore.messaging.retry_max", 3600, _positive_number, (), "Longest wait between two tries, in seconds."),
    Setting("shopcore.messaging.relay_interval", 5, _positive_number, (),
            "Seconds between two relay passes in the worker."),
    Setting("shopcore.messaging.redeliver_after", 3600, _positive_number, (),
            "A published job still unfinished after this many seconds is published again."),
    Setting("shopcore.messaging.publish_timeout", 2, _positive_number, (),
            "Seconds a request waits for the broker after commit before leaving it to the relay."),
    Setting("shopcore.messaging.broker_pause", 5, _positive_number, (),
            "After a failed publish, seconds during which publishing is not tried (the relay catches up)."),
    Setting("shopcore.messaging.visibility_timeout", 3600, _positive_number, (),
            "Redis broker: an unacked message is redelivered after this many seconds."),
    Setting("shopcore.messaging.keep_done_days", 7, _positive_number, (),
            "Finished jobs are deleted from the outbox after this many days."),
)
PREFIX = "shopcore.messaging."


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a job kind is tried: `max_attempts` tries, the n-th failed one waiting
    `base * 2**(n-1)` seconds (at most `cap`), each wait scaled by a random factor within
    `1 ± jitter` so that jobs failing together (a receiver down) do not all come back at once."""

    max_attempts: int
    base: float
    cap: float
    jitter: float = 0.0

    def __post_init__(self):
        if self.max_attempts < 1 or self.base <= 0 or self.cap < self.base or not 0 <= self.jitter < 1:
            raise ValueError(f"invalid retry policy {self!r}")

    def nominal_delay(self, attempts: int) -> float:
        return min(self.cap, self.base * 2 ** max(0, attempts - 1))

    def delay(self, attempts: int) -> float:
        delay = self.nominal_delay(attempts)
        return delay * random.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else delay

    def shortest_span(self) -> float:
        """Seconds from the first try to the last at the least (every wait at its lowest jitter)."""
        return sum(self.nominal_delay(n) * (1 - self.jitter) for n in range(1, self.max_attempts))


@dataclass(frozen=True)
class MessagingOptions:
    broker_url: str
    queue: str
    max_attempts: int
    retry_base: float
    retry_max: float
    relay_interval: float
    redeliver_after: float
    publish_timeout: float
    broker_pause: float
    visibility_timeout: float
    keep_done_days: float

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dead"

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed try: base, 2 x base, 4 x base ... capped."""
        return min(self.retry_max, self.retry_base * 2 ** max(0, attempts - 1))

    @property
    def retry_policy(self):
        """The settings' tries and waits, for job kinds without a policy of their own."""
        return RetryPolicy(self.max_attempts, self.retry_base, max(self.retry_base, self.retry_max))

    def queue_name(self, own_queue: str = "") -> str:
        """The broker queue of jobs registered with `queue=own_queue` (the shared one for "")."""
        return f"{self.queue}.{own_queue}" if own_queue else self.queue


def parse_options(settings: Mapping[str, Any]) -> MessagingOptions:
    """The options from settings (parsed again here, so a plain settings dict works too)."""
    values = {}
    for row in MESSAGING_SETTINGS:
        try:
            values[row.key[len(PREFIX):]] = row.parse(settings.get(row.key, row.default))
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"setting {row.key}: {exc}") from None
    return MessagingOptions(broker_url=settings.get("shopcore.broker_url", ""), **values)
