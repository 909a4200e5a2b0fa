"""The relay: publishes outbox rows the broker never took (it was down), and retries whose time has come.

Without a broker it runs those jobs in this process instead. The worker calls it every
`shopcore.messaging.relay_interval` seconds; `shopcore-admin CONFIG jobs-relay` (or `mail-relay`) runs
one pass by hand.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from shopcore.clock import utcnow
from shopcore.messaging.broker import JobMessage
from shopcore.messaging.models import OutboxMessage
from shopcore.messaging.outbox import (OPTIONS, PUBLISHER, due_condition, kind_filter, record_published,
                                       session_factory)
from shopcore.messaging.processing import process_job

log = logging.getLogger(__name__)

BATCH_SIZE = 200


@dataclass(frozen=True)
class RelayReport:
    handed_over: int  # published, or run in process without a broker
    left: int  # due but not handed over (the broker is still away)


def relay_once(registry, kind_prefix: str = "", batch_size: int = BATCH_SIZE) -> RelayReport:
    """One pass over the due rows, in batches, until none is left or the broker fails."""
    publisher = registry.get(PUBLISHER)
    handed_over = 0
    while True:
        if publisher is None:
            done, left = _run_due_in_process(registry, kind_prefix, batch_size)
        else:
            done, left = _publish_due(registry, publisher, kind_prefix, batch_size)
        handed_over += done
        if left or done < batch_size:
            break
    if handed_over or left:
        log.info("relay: %d job(s) handed over, %d left for the next pass", handed_over, left)
    return RelayReport(handed_over, left)


def _due_rows(options, kind_prefix: str, batch_size: int):
    now = utcnow()
    return (select(OutboxMessage)
            .where(due_condition(now, options.redeliver_after), kind_filter(kind_prefix))
            .order_by(OutboxMessage.available_at)
            .limit(batch_size))


def _publish_due(registry, publisher, kind_prefix: str, batch_size: int) -> tuple[int, int]:
    options = registry[OPTIONS]
    with session_factory(registry)() as session, session.begin():
        # SKIP LOCKED: relays in several workers share the work instead of publishing a row twice.
        rows = list(session.scalars(_due_rows(options, kind_prefix, batch_size)
                                    .with_for_update(skip_locked=True)))
        published = publisher.publish([JobMessage(str(row.id), row.kind, row.attempts) for row in rows])
        # Conditional like the web side's: on SQLite (no row locks) a worker may have finished one already.
        record_published(session, published)
    return len(published), len(rows) - len(published)


def _run_due_in_process(registry, kind_prefix: str, batch_size: int) -> tuple[int, int]:
    options = registry[OPTIONS]
    with session_factory(registry)() as session:
        ids = [str(row.id) for row in session.scalars(_due_rows(options, kind_prefix, batch_size))]
    for message_id in ids:
        # process_job locks and re-checks the row, so a job another process ran meanwhile is skipped.
        process_job(registry, message_id)
    return len(ids), 0
