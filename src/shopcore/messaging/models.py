"""The outbox table: one row per background job, written in the transaction that asks for it."""
from __future__ import annotations

import datetime
import uuid

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shopcore.clock import as_utc, utcnow  # noqa: F401  (re-exported for older imports)
from shopcore.db import AwareDateTime, Base

# pending: must be published (new, broker was down, or a retry once `available_at` has come);
# published: the broker confirmed it, a worker has not finished it yet;
# done: the handler succeeded (a redelivered copy is then acked and ignored);
# failed: dead-lettered after its last attempt or a permanent error.
PENDING, PUBLISHED, DONE, FAILED = "pending", "published", "done", "failed"
STATUSES = (PENDING, PUBLISHED, DONE, FAILED)


class OutboxMessage(Base):
    __tablename__ = "core_outbox"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)
    available_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)
    published_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    processed_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
        Index("ix_core_outbox_status_available_at", "status", "available_at"),
    )
