"""Sending one webhook delivery: the job handler of `apps.webhook`, run by the worker on the `webhooks` queue.

Each try, in the job's own transaction (`with_request`): read the delivery and its subscription, sign the
stored body with the secrets that sign now, POST it, and record the try (status code, error, when,
next try). A 2xx within the timeout is a success. Anything else raises `RetryJob`, which keeps that
record and lets the outbox try again after the policy's wait (exponential, with jitter), until the
last try, which fails the delivery for good and counts against the subscription: after
`webhook_disable_after` such failures in a row it is disabled and `WebhookSubscriptionDisabled` is
emitted (the notifications plugin mails the admins). A success sets the count back to 0.

`X-Shopcore-Delivery` is the delivery's id, the same on every try and on a redelivery, so a receiver
that saw it already can skip it: the one window in which a receiver can get a delivery twice (the
worker killed after the receiver answered, before the try was recorded) repeats the same id.
"""
from __future__ import annotations

import datetime
import logging
import uuid

from sqlalchemy import text, update

from shopcore.clock import utcnow
from shopcore.messaging import RetryJob

from shopcore_apps.events import WebhookSubscriptionDisabled
from shopcore_apps.models import CANCELLED, FAILED, PENDING, SUCCEEDED, WebhookDelivery, WebhookSubscription
from shopcore_apps.settings import SETTINGS_KEY
from shopcore_apps.signing import signature_header
from shopcore_apps.targets import Answer, check_url
from shopcore_apps.webhooks import signing_secrets

log = logging.getLogger(__name__)

SENDER = "apps.webhook_sender"


def deliver_webhook(request, job) -> None:
    settings = request.registry[SETTINGS_KEY]
    session = request.dbsession
    if session.get_bind().dialect.name == "postgresql":
        # The try's record need not wait for its WAL flush: lost in a crash, the job runs again and the
        # receiver sees the same delivery id twice, which it must handle anyway (see the docstring).
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    try:
        delivery_id = uuid.UUID(str(job.payload.get("delivery")))
    except ValueError:
        log.error("webhook job %s names no delivery; dropped", job.id)
        return
    delivery = session.get(WebhookDelivery, delivery_id)  # its job's outbox row is locked: one try at a time
    if delivery is None or delivery.status != PENDING or delivery.job_id != uuid.UUID(job.id):
        return  # deleted with its subscription, finished, or taken over by a redelivery's job
    subscription = delivery.subscription
    if not subscription.is_active:
        delivery.status, delivery.next_attempt_at = CANCELLED, None
        delivery.last_error = "not sent: the subscription is disabled"
        return

    now = utcnow()
    body = delivery.body.encode("utf-8")
    problem = check_url(subscription.url, settings.webhook_allow_private_targets)
    if problem:
        answer = Answer(None, f"refused: the URL {problem}")
    elif len(body) > settings.webhook_max_body_bytes:
        answer = Answer(None, f"the body ({len(body)} bytes) is over webhook_max_body_bytes "
                              f"({settings.webhook_max_body_bytes})")
    else:
        timestamp = str(int(now.timestamp()))
        answer = request.registry[SENDER].post(subscription.url, body, {
            "X-Shopcore-Event": delivery.event,
            "X-Shopcore-Delivery": str(delivery.id),
            "X-Shopcore-Timestamp": timestamp,
            "X-Shopcore-Signature": signature_header(signing_secrets(subscription, now), timestamp, body),
        })
    finished = utcnow()
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error, delivery.last_attempt_at = answer.status, answer.error, finished
    if answer.succeeded:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = SUCCEEDED, finished, None
        # Conditional: a busy subscription's row is written only when there is a count to clear.
        session.execute(update(WebhookSubscription)
                        .where(WebhookSubscription.id == subscription.id, WebhookSubscription.consecutive_failures > 0)
                        .values(consecutive_failures=0).execution_options(synchronize_session=False))
        return
    policy = settings.retry_policy
    last_try = job.attempt >= policy.max_attempts or answer.error and answer.error.startswith(
        ("refused:", "the body"))
    if not last_try:
        delay = policy.delay(job.attempt)
        delivery.next_attempt_at = finished + datetime.timedelta(seconds=delay)
        raise RetryJob(f"webhook {delivery.id} to {subscription.url}: {answer.error}", delay=delay)
    delivery.status, delivery.next_attempt_at = FAILED, None
    log.warning("webhook %s (%s) to %s failed for good after %d tries: %s", delivery.id, delivery.event,
                subscription.url, delivery.attempts, answer.error)
    count_failure(request, subscription.id, answer.error or "")


def count_failure(request, subscription_id: int, error: str) -> None:
    settings = request.registry[SETTINGS_KEY]
    session = request.dbsession
    failures = session.execute(
        update(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
        .values(consecutive_failures=WebhookSubscription.consecutive_failures + 1)
        .returning(WebhookSubscription.consecutive_failures, WebhookSubscription.url)
        .execution_options(synchronize_session=False)).first()
    if failures is None or failures.consecutive_failures < settings.webhook_disable_after:
        return
    reason = f"disabled after {failures.consecutive_failures} deliveries in a row failed; the last: {error}"[:1000]
    disabled = session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id, WebhookSubscription.is_active.is_(True))
        .values(is_active=False, disabled_reason=reason, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if disabled.rowcount == 1:  # only the try that disabled it tells the admins
        log.error("webhook subscription %s (%s) %s", subscription_id, failures.url, reason)
        request.notify(WebhookSubscriptionDisabled(subscription_id, failures.url, failures.consecutive_failures,
                                                   error))
