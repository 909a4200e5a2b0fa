"""The apps plugin's settings (`shopcore.apps.*`), parsed once at start-up into `AppsSettings`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from shopcore.messaging import RetryPolicy
from shopcore.settings import Setting, parse_bool, parse_positive_int

PREFIX = "shopcore.apps."
SETTINGS_KEY = "apps.settings"


def _positive_number(value: Any) -> float:
    number = float(str(value).strip())
    if not number > 0 or number == float("inf"):
        raise ValueError(f"expected a positive number, got {value!r}")
    return number


def _fraction(value: Any) -> float:
    number = float(str(value).strip())
    if not 0 <= number < 1:
        raise ValueError(f"expected a number from 0 up to (not including) 1, got {value!r}")
    return number


APPS_SETTINGS = (
    Setting("shopcore.apps.webhook_timeout", 10, _positive_number, (),
            "Seconds a webhook receiver has to answer (connecting, sending and the response together); "
            "a 2xx within it is a success."),
    Setting("shopcore.apps.webhook_max_attempts", 10, parse_positive_int, (),
            "Tries of one webhook delivery before it is failed for good."),
    Setting("shopcore.apps.webhook_retry_base", 60, _positive_number, (),
            "Seconds before a delivery's second try; doubled for each further one."),
    Setting("shopcore.apps.webhook_retry_max", 10800, _positive_number, (),
            "Longest wait between two tries of a delivery, in seconds."),
    Setting("shopcore.apps.webhook_retry_jitter", 0.25, _fraction, (),
            "Each wait is scaled by a random factor within 1 ± this, so deliveries failing together spread out."),
    Setting("shopcore.apps.webhook_disable_after", 5, parse_positive_int, (),
            "A subscription whose deliveries failed for good this many times in a row is disabled and "
            "the admins are mailed."),
    Setting("shopcore.apps.webhook_concurrency", 16, parse_positive_int, (),
            "Deliveries one worker sends at once (threads), so a slow receiver does not hold up the others "
            "(1 on SQLite)."),
    Setting("shopcore.apps.webhook_allow_private_targets", False, parse_bool, ("SHOPCORE_WEBHOOKS_ALLOW_PRIVATE",),
            "Allow webhook URLs on loopback, private, link-local and metadata addresses (development and tests "
            "only)."),
    Setting("shopcore.apps.webhook_max_body_bytes", 262144, parse_positive_int, (),
            "Largest webhook body sent; a bigger event fails its delivery at once."),
    Setting("shopcore.apps.webhook_max_response_bytes", 65536, parse_positive_int, (),
            "Most bytes of a receiver's response read; the rest is not waited for."),
    Setting("shopcore.apps.webhook_secret_overlap", 86400, _positive_number, (),
            "Default seconds the previous secret still signs after a rotation."),
    Setting("shopcore.apps.delivery_log_days", 30, _positive_number, (),
            "Finished webhook deliveries are deleted from the log after this many days."),
    Setting("shopcore.apps.key_touch_interval", 60, _positive_number, (),
            "A key's last_used_at is written at most this often (seconds), not on every request."),
)


@dataclass(frozen=True)
class AppsSettings:
    webhook_timeout: float
    webhook_max_attempts: int
    webhook_retry_base: float
    webhook_retry_max: float
    webhook_retry_jitter: float
    webhook_disable_after: int
    webhook_concurrency: int
    webhook_allow_private_targets: bool
    webhook_max_body_bytes: int
    webhook_max_response_bytes: int
    webhook_secret_overlap: float
    delivery_log_days: float
    key_touch_interval: float

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.webhook_max_attempts, self.webhook_retry_base,
                           max(self.webhook_retry_base, self.webhook_retry_max), self.webhook_retry_jitter)


def apps_settings(settings: Mapping[str, Any]) -> AppsSettings:
    return AppsSettings(**{row.key[len(PREFIX):]: settings[row.key] for row in APPS_SETTINGS})
