"""The audit log's one table: an entry per admin action, written in the action's own transaction."""
from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base

ACTION_MAX = 100
OBJECT_TYPE_MAX = 100
OBJECT_ID_MAX = 100
ORIGIN_MAX = 200


class AuditEntry(Base):
    """Who did what to which object, when, and the object before and after.

    `actor_id` is the user's id (no foreign key: an entry outlives anything it names, and the table
    refuses the updates a cascade would make); None when no one was logged in (`shopcore-admin`, a
    job). Entries hold ids and the fields an action changed, never a person's contact details, so
    erasing a customer leaves the log intact and anonymous (see docs/plugins.md, "Audit log").
    """

    __tablename__ = "core_audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(ACTION_MAX), nullable=False)
    object_type: Mapped[str] = mapped_column(String(OBJECT_TYPE_MAX), nullable=False)
    object_id: Mapped[str] = mapped_column(String(OBJECT_ID_MAX), nullable=False)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    # How it was done: `PATCH /api/products/7/`, `shopcore-admin grant-admin`.
    origin: Mapped[str] = mapped_column(String(ORIGIN_MAX), nullable=False, default="")
    request_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")

    __table_args__ = (
        Index("ix_core_audit_entries_occurred", "occurred_at", "id"),
        Index("ix_core_audit_entries_actor", "actor_id", "occurred_at"),
        Index("ix_core_audit_entries_object", "object_type", "object_id", "occurred_at"),
    )
