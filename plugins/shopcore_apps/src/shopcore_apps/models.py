"""The apps plugin's tables: apps and their hashed keys, webhook subscriptions, and the delivery log.

No foreign key leaves the plugin but the one to the core's users (who made an app or a subscription).
"""
from __future__ import annotations

import datetime
import uuid

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base

PENDING, SUCCEEDED, FAILED, CANCELLED = "pending", "succeeded", "failed", "cancelled"
DELIVERY_STATUSES = (PENDING, SUCCEEDED, FAILED, CANCELLED)


class App(Base):
    __tablename__ = "apps_apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    scopes: Mapped[list] = mapped_column(JSON, nullable=False)
    # SHA-256 of the whole key: keys are 256 random bits, so a fast hash is enough and lookups stay one
    # indexed read; the key itself is shown once and never stored.
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The admin who made it; the app acts for the shop with that account as its user (see README).
    created_by: Mapped[int] = mapped_column(ForeignKey("core_users.id"), nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    key_created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)


class WebhookSubscription(Base):
    __tablename__ = "apps_webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    events: Mapped[list] = mapped_column(JSON, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Kept as given: it must sign, so it cannot be hashed. The API shows it only when it is made.
    secret: Mapped[str] = mapped_column(String(200), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    previous_secret_expires_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Deliveries failed for good in a row; a success sets it back to 0.
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Made by an app (which alone then sees it, and takes it along when deleted), or by an admin.
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps_apps.id", ondelete="CASCADE", name="fk_apps_webhook_subscriptions_app"), nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_apps_webhook_subscriptions_app_id", "app_id"),)


class WebhookDelivery(Base):
    """One event for one subscription: its id is the `X-Shopcore-Delivery` header, the same on every try."""

    __tablename__ = "apps_webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("apps_webhook_subscriptions.id", ondelete="CASCADE", name="fk_apps_webhook_deliveries_subscription"), nullable=False)
    event: Mapped[str] = mapped_column(String(100), nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    # The exact bytes sent (UTF-8 JSON), made once when the event happened: every try signs the same body.
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_attempt_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    next_attempt_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    delivered_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    # The outbox job carrying the current series of tries (a redelivery starts a new one).
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # The customer the event is about (its `user_id`), whose data the body may carry: erasing them
    # deletes their deliveries (shopcore_apps.personal_data). No foreign key: users are never deleted.
    subject_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    subscription: Mapped[WebhookSubscription] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in DELIVERY_STATUSES)})", name="status"),
        Index("ix_apps_webhook_deliveries_subscription_id_created_at", "subscription_id", "created_at"),
        Index("ix_apps_webhook_deliveries_created_at", "created_at"),
        Index("ix_apps_webhook_deliveries_subject_user_id", "subject_user_id"),
    )
