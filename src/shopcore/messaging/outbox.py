"""The outbox: `request.enqueue_job` writes a row in the request's transaction; after commit it is dispatched.

Dispatch means publishing to the broker when one is configured (the worker runs the job), or running
the job in this process when none is (development). A row the broker did not take stays pending and
the relay publishes it later, so a committed job is delayed at worst, never lost.
"""
from __future__ import annotations

import datetime
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import Text, and_, cast, delete, func, or_, select, text, update

from shopcore.clock import as_utc, utcnow
from shopcore.messaging.broker import JobMessage
from shopcore.messaging.models import DONE, FAILED, PENDING, PUBLISHED, OutboxMessage
from shopcore.messaging.processing import process_job
# The registry keys and the out-of-request session factory, importable from here as before.
from shopcore.messaging.state import HANDLERS, OPTIONS, PUBLISHER, session_factory  # noqa: F401

log = logging.getLogger(__name__)

# Key of the per-transaction list of jobs to dispatch once it commits.
_DISPATCH_AFTER_COMMIT = object()


class UnknownJobKind(LookupError):
    """A job was enqueued for a kind no plugin handles (a programming error, raised at once)."""


def enqueue_job(request, kind: str, payload: dict[str, Any]) -> str:
    """Write a job to the outbox in the current transaction; returns its message id.

    Nothing leaves the process before the transaction commits, and if it rolls back the job is gone.
    """
    registry = request.registry
    if kind not in registry.get(HANDLERS, {}):
        raise UnknownJobKind(f"no job handler is registered for kind {kind!r}")
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"payload of job {kind!r} must be JSON: {exc}") from None
    now = utcnow()
    row = OutboxMessage(id=uuid.uuid4(), kind=kind, payload=payload, status=PENDING, attempts=0,
                        created_at=now, available_at=now)
    request.dbsession.add(row)
    request.dbsession.flush()

    transaction = request.tm.get()
    try:
        batch = transaction.data(_DISPATCH_AFTER_COMMIT)
    except KeyError:
        batch = []
        transaction.set_data(_DISPATCH_AFTER_COMMIT, batch)
        transaction.addAfterCommitHook(_dispatch_after_commit, args=(registry, batch))
    batch.append(JobMessage(str(row.id), kind, 0))
    return str(row.id)


def _dispatch_after_commit(committed: bool, registry, batch: list[JobMessage]) -> None:
    if not committed:
        return
    try:
        dispatch(registry, batch)
    except Exception:
        # The rows are committed; the relay takes them from here. The response must stand.
        log.exception("dispatching %d job(s) after commit failed; the relay will retry", len(batch))


def dispatch(registry, messages: list[JobMessage]) -> list[JobMessage]:
    """Publish (or, without a broker, run) these jobs now; returns those handed over."""
    if not messages:
        return []
    publisher = registry.get(PUBLISHER)
    if publisher is None:
        # Jobs with a queue of their own are a worker's (its relay passes run them without a broker).
        handlers = registry.get(HANDLERS, {})
        inline = [message for message in messages if not getattr(handlers.get(message.kind), "queue", "")]
        for message in inline:
            process_job(registry, message.id)
        return inline
    published = publisher.publish(messages)
    mark_published(registry, published)
    return published


def mark_published(registry, messages: Iterable[JobMessage]) -> None:
    messages = list(messages)
    if not messages:
        return
    with session_factory(registry)() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # Losing this mark in a crash only gets the job published once more (and skipped by the
            # worker), so the request need not wait for a second WAL flush.
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        record_published(session, messages, skip_locked=True)


def record_published(session, messages: Iterable[JobMessage], skip_locked: bool = False) -> None:
    """Mark these tries published, unless their row has moved on.

    Only the try that was published is marked: a fast worker may already have finished it, or failed
    it and scheduled a retry, and that newer state must not be overwritten. With `skip_locked` a row
    a worker holds right now is left to that worker instead of waiting for its SMTP conversation.
    """
    now = utcnow()
    for message in messages:
        still_this_try = (select(OutboxMessage.id)
                          .where(OutboxMessage.id == uuid.UUID(message.id),
                                 OutboxMessage.status.in_((PENDING, PUBLISHED)),
                                 OutboxMessage.attempts == message.attempts))
        if skip_locked:
            still_this_try = still_this_try.with_for_update(skip_locked=True)
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(still_this_try.scalar_subquery()))
                        .values(status=PUBLISHED, published_at=now))


def due_condition(now: datetime.datetime, redeliver_after: float):
    """Rows the relay must (re)publish: pending ones whose time has come, and published ones no worker
    finished for much too long (a message the broker lost)."""
    stale = now - datetime.timedelta(seconds=redeliver_after)
    return or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.available_at <= now),
        and_(OutboxMessage.status == PUBLISHED, OutboxMessage.published_at <= stale),
    )


def kind_filter(kind_prefix: str):
    return OutboxMessage.kind.startswith(kind_prefix, autoescape=True) if kind_prefix else True


# --- what the admin commands read and change ------------------------------------------------------

@dataclass(frozen=True)
class OutboxStatus:
    pending: int  # not finished yet: waiting to be published, published, or waiting for a retry
    published: int
    done: int
    failed: int
    oldest_pending_age: float | None  # seconds

    def lines(self, done_word: str = "done") -> list[str]:
        age = "-" if self.oldest_pending_age is None else f"{self.oldest_pending_age:.0f} s"
        return [
            f"pending: {self.pending} ({self.published} published, {self.pending - self.published} waiting "
            f"for the broker or a retry)",
            f"{done_word}: {self.done}",
            f"failed: {self.failed}",
            f"oldest pending age: {age}",
        ]


def outbox_status(registry, kind_prefix: str = "", now: datetime.datetime | None = None) -> OutboxStatus:
    now = now or utcnow()
    with session_factory(registry)() as session:
        counts = dict(session.execute(
            select(OutboxMessage.status, func.count()).where(kind_filter(kind_prefix))
            .group_by(OutboxMessage.status)
        ).all())
        oldest = session.scalar(
            select(func.min(OutboxMessage.created_at))
            .where(kind_filter(kind_prefix), OutboxMessage.status.in_((PENDING, PUBLISHED)))
        )
    oldest = as_utc(oldest)
    return OutboxStatus(
        pending=counts.get(PENDING, 0) + counts.get(PUBLISHED, 0),
        published=counts.get(PUBLISHED, 0),
        done=counts.get(DONE, 0),
        failed=counts.get(FAILED, 0),
        oldest_pending_age=None if oldest is None else max(0.0, (now - oldest).total_seconds()),
    )


def failed_jobs(registry, kind_prefix: str = "") -> list[OutboxMessage]:
    with session_factory(registry)() as session:
        return list(session.scalars(
            select(OutboxMessage).where(kind_filter(kind_prefix), OutboxMessage.status == FAILED)
            .order_by(OutboxMessage.processed_at)
        ))


def requeue_failed(registry, ids: list[str] | None, kind_prefix: str = "") -> list[JobMessage]:
    """Give failed jobs (those of `ids`, or all) a fresh set of attempts and dispatch them now."""
    now = utcnow()
    with session_factory(registry)() as session, session.begin():
        query = select(OutboxMessage).where(kind_filter(kind_prefix), OutboxMessage.status == FAILED)
        if ids is not None:
            query = query.where(OutboxMessage.id.in_([uuid.UUID(i) for i in ids]))
        rows = list(session.scalars(query.with_for_update()))
        for row in rows:
            row.status, row.attempts, row.available_at = PENDING, 0, now
            row.published_at = row.processed_at = None
        messages = [JobMessage(str(row.id), row.kind, 0) for row in rows]
    publisher = registry.get(PUBLISHER)
    if publisher is not None and messages:
        # Their dead letters are answered now; leave none behind to be retried twice.
        try:
            publisher.take_dead_letters({m.id for m in messages})
        except Exception as exc:
            log.warning("could not clear dead letters (%s: %s); the rows are requeued all the same",
                        type(exc).__name__, exc)
    dispatch(registry, messages)
    return messages


def purge_finished(registry, keep_days: float, now: datetime.datetime | None = None) -> int:
    """Delete finished jobs older than `keep_days`; their ids no longer need to guard against redelivery."""
    cutoff = (now or utcnow()) - datetime.timedelta(days=keep_days)
    with session_factory(registry)() as session, session.begin():
        result = session.execute(
            delete(OutboxMessage).where(OutboxMessage.status == DONE, OutboxMessage.processed_at < cutoff)
        )
    return result.rowcount or 0


# --- erasure of a person's data -------------------------------------------------------------------

# What a cancelled job's row says (it is marked done, so a copy already on the broker does nothing).
CANCELLED_ERROR = "cancelled: the person it concerned was erased"


def payload_mentions(values: Iterable[str]):
    """A condition on outbox rows: the payload holds one of `values` as a JSON string.

    The payloads are matched as text: the stored JSON is what `json.dumps` wrote, so a value appears
    in it as `json.dumps(value)`, quotes included, and never as part of a longer string.
    """
    payload_text = cast(OutboxMessage.payload, Text)
    return or_(*(payload_text.contains(json.dumps(value), autoescape=True) for value in sorted(set(values))))


def forget_jobs_mentioning(session, values: Iterable[str]) -> list[str]:
    """Cancel the unfinished jobs whose payload holds one of `values` as a JSON string (an e-mail
    address, a username), and empty the payloads of the finished ones; the kinds of those cancelled.

    A cancelled row is marked done, with its payload emptied: the relay no longer publishes it and a
    worker that receives a copy already published skips it, as it skips any finished job. A row a
    worker holds right now is waited for (its mail is then sent; the payload is emptied after).
    """
    values = [value for value in values if value]
    if not values:
        return []
    rows = list(session.scalars(select(OutboxMessage).where(payload_mentions(values)).with_for_update()))
    now = utcnow()
    cancelled = []
    for row in rows:
        if row.status != DONE:
            cancelled.append(row.kind)
            row.status, row.processed_at, row.last_error = DONE, now, CANCELLED_ERROR
        row.payload = {}
    session.flush()
    return cancelled
