"""Running one job: the row is locked, a finished job is skipped, the handler's result is recorded.

The same function serves the worker (for each message it consumes) and development's in-process
dispatch, so both behave alike: a job id that is done does nothing again, a failure is retried with
exponential backoff, and the last failure (or a permanent one) marks the job failed.

A handler registered `with_request` writes in the job's own transaction through a request made here
(`job_request`): its rows commit with the job's `done`, or roll back (to a savepoint) when it raises,
while the attempt is still recorded. Jobs it enqueues are dispatched once that transaction commits.
"""
from __future__ import annotations

import datetime
import enum
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import transaction
from pyramid.request import Request, apply_request_extensions

from shopcore.clock import as_utc, utcnow
from shopcore.messaging.options import RetryPolicy
from shopcore.messaging.models import DONE, FAILED, PENDING, OutboxMessage
from shopcore.messaging.state import HANDLERS, OPTIONS, session_factory

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000


class PermanentJobError(Exception):
    """Raised by a handler when trying again cannot help (a refused recipient): dead-letter at once."""


class RetryJob(Exception):
    """Raised by a `with_request` handler that recorded its own failed try (a webhook's response code):
    unlike any other exception its writes are kept, committed with the attempt. The job is tried again
    after `delay` seconds when given (else the policy's wait), or fails for good after its last try."""

    def __init__(self, error: str, delay: float | None = None):
        super().__init__(error)
        self.delay = delay


@dataclass(frozen=True)
class Job:
    """What a handler gets: `handler(registry, job)`."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempt: int  # 1 for the first try
    created_at: datetime.datetime


@dataclass(frozen=True)
class JobHandler:
    handler: Callable
    # Drop the payload once the job is done (it may hold a secret, such as a reset token).
    scrub_payload: bool = False
    # Called as handler(request, job), writing in the job's transaction.
    with_request: bool = False
    # A queue of its own, `<shopcore.messaging.queue>.<queue>` ("" for the shared one); such jobs are
    # always run by a worker, never inside the web request that enqueued them.
    queue: str = ""
    # Its own tries and waits instead of the messaging settings' (None).
    retry: RetryPolicy | None = None
    # Jobs of its own queue one worker runs at once, in threads (I/O-bound kinds: webhooks).
    concurrency: int = 1


class Outcome(enum.Enum):
    DONE = "done"
    SKIPPED = "skipped"  # finished before, unknown, or a retry that is not due yet
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class JobResult:
    outcome: Outcome
    kind: str = ""
    attempts: int = 0
    error: str = ""


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]


def job_request(registry, session, manager) -> Request:
    """A request for a `with_request` handler: `dbsession` is the job's session, `tm` a transaction
    manager committed only after that session committed (so after-commit hooks, such as dispatching
    the jobs the handler enqueued, run then)."""
    request = Request.blank("/")
    request.registry = registry
    apply_request_extensions(request)
    request.tm = manager
    request.dbsession = session
    return request


def process_job(registry, message_id: str) -> JobResult:
    """Run the job `message_id` unless it is finished; commit its new state before returning.

    The row stays locked (PostgreSQL) while the handler runs, so two copies of one message consumed
    by two workers at once run it once. A database error propagates: the caller must not ack.
    """
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    try:
        result = _process_job(registry, message_id, manager)
    except BaseException:
        manager.abort()
        raise
    if result.outcome is Outcome.DONE:
        manager.commit()  # nothing joined it: this only runs the after-commit hooks
    else:
        manager.abort()
    return result


def _process_job(registry, message_id: str, manager) -> JobResult:
    options = registry[OPTIONS]
    handlers = registry.get(HANDLERS, {})
    try:
        key = uuid.UUID(str(message_id))
    except ValueError:
        log.error("job message with a malformed id %r ignored", message_id)
        return JobResult(Outcome.SKIPPED)
    with session_factory(registry)() as session, session.begin():
        row = session.get(OutboxMessage, key, with_for_update=True)
        now = utcnow()
        if row is None:
            log.error("job %s is not in the outbox (purged, or another database); ignored", message_id)
            return JobResult(Outcome.SKIPPED)
        if row.status in (DONE, FAILED):
            log.info("job %s (%s) is %s already; this copy is ignored", message_id, row.kind, row.status)
            return JobResult(Outcome.SKIPPED, row.kind, row.attempts)
        if row.status == PENDING and as_utc(row.available_at) > now:
            return JobResult(Outcome.SKIPPED, row.kind, row.attempts)

        registration: JobHandler | None = handlers.get(row.kind)
        job = Job(str(row.id), row.kind, dict(row.payload), row.attempts + 1, as_utc(row.created_at))
        row.attempts += 1
        savepoint = None
        try:
            if registration is None:
                raise PermanentJobError(f"no job handler is registered for kind {row.kind!r}")
            if registration.with_request:
                savepoint = session.begin_nested()
                registration.handler(job_request(registry, session, manager), job)
                savepoint.commit()
            else:
                registration.handler(registry, job)
        except Exception as exc:
            if savepoint is not None and savepoint.is_active:
                if isinstance(exc, RetryJob):
                    savepoint.commit()  # the handler recorded this failure itself: keep it
                else:
                    savepoint.rollback()  # the handler's writes go; the attempt below is recorded
            row.last_error = describe(exc)
            policy = (registration.retry if registration is not None and registration.retry is not None
                      else options.retry_policy)
            if isinstance(exc, PermanentJobError) or row.attempts >= policy.max_attempts:
                row.status, row.processed_at = FAILED, utcnow()
                log.error("job %s (%s) failed for good after %d attempt(s): %s", row.id, row.kind,
                          row.attempts, row.last_error, exc_info=not isinstance(exc, PermanentJobError))
                return JobResult(Outcome.FAILED, row.kind, row.attempts, row.last_error)
            delay = exc.delay if isinstance(exc, RetryJob) and exc.delay is not None else policy.delay(row.attempts)
            row.status, row.published_at = PENDING, None
            row.available_at = utcnow() + datetime.timedelta(seconds=delay)
            log.warning("job %s (%s) attempt %d failed, retrying in %.1f s: %s", row.id, row.kind,
                        row.attempts, delay, row.last_error)
            return JobResult(Outcome.RETRY, row.kind, row.attempts, row.last_error)
        row.status, row.processed_at, row.last_error = DONE, utcnow(), None
        if registration.scrub_payload:
            row.payload = {}
        return JobResult(Outcome.DONE, row.kind, row.attempts)

