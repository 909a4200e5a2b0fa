"""Payments tables: payments taken through providers, refunds with their lines, returns with their lines,
and the webhook events already processed.

Orders are the orders plugin's: they are named by id, without a foreign key (plugins reach each other
through services). Money is `Numeric(12, 2)`; the database refuses a payment whose refunds exceed its
capture, a second guard behind the conditional UPDATE that decides it.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, ForeignKey, Index, Integer, PrimaryKeyConstraint, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base
from shopcore.money import ZERO, Money

# A payment's own states: the provider's (shopcore_payments.api) plus what refunds make of a capture.
PENDING, AUTHORIZED, CAPTURED, VOIDED, FAILED = "pending", "authorized", "captured", "voided", "failed"
PARTIALLY_REFUNDED, REFUNDED = "partially_refunded", "refunded"
PAYMENT_STATUSES = (PENDING, AUTHORIZED, CAPTURED, VOIDED, FAILED, PARTIALLY_REFUNDED, REFUNDED)
# Not settled yet: may still be captured (settling the order) or released. A declined payment may be
# tried again at the provider with another card, so it stays open.
OPEN = (PENDING, AUTHORIZED, FAILED)
# Money taken and kept, some of which may still be refunded.
REFUNDABLE = (CAPTURED, PARTIALLY_REFUNDED)
# Who settled a payment: the customer's confirmation (pay/) or the provider's webhook.
CONFIRMATION, WEBHOOK = "confirmation", "webhook"

REQUESTED, APPROVED, REJECTED = "requested", "approved", "rejected"
RETURN_STATUSES = (REQUESTED, APPROVED, REJECTED)
REFUND_SUCCEEDED, REFUND_PENDING = "succeeded", "pending"
REASON_MAX = 500
PROVIDER_MAX = 40
REFERENCE_MAX = 255


def _in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


class Payment(Base):
    __tablename__ = "payments_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="RESTRICT"), nullable=False)
    provider: Mapped[str] = mapped_column(String(PROVIDER_MAX), nullable=False)
    reference: Mapped[str] = mapped_column(String(REFERENCE_MAX), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    captured_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)
    refunded_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=ZERO)
    client_secret: Mapped[str | None] = mapped_column(String(REFERENCE_MAX), nullable=True)
    failure: Mapped[str | None] = mapped_column(String(REASON_MAX), nullable=True)
    settled_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(PAYMENT_STATUSES)})", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("captured_amount >= 0 AND refunded_amount >= 0", name="amounts_not_negative"),
        CheckConstraint("refunded_amount <= captured_amount", name="refunds_within_capture"),
        UniqueConstraint("provider", "reference", name="uq_payments_payments_provider_reference"),
        Index("ix_payments_payments_order", "order_id", "id"),
    )


class Refund(Base):
    __tablename__ = "payments_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments_payments.id", ondelete="RESTRICT"), nullable=False,
                                            index=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("payments_returns.id", ondelete="SET NULL"),
                                                  nullable=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    reason: Mapped[str] = mapped_column(String(REASON_MAX), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(REFERENCE_MAX), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("core_users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)

    lines: Mapped[list["RefundLine"]] = relationship(order_by="RefundLine.order_line_id", lazy="raise")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"status IN ({_in((REFUND_SUCCEEDED, REFUND_PENDING))})", name="status_known"),
    )


class RefundLine(Base):
    """Units of an order line a refund paid back: what the line-based limits count."""

    __tablename__ = "payments_refund_lines"

    refund_id: Mapped[int] = mapped_column(ForeignKey("payments_refunds.id", ondelete="CASCADE"), nullable=False)
    order_line_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("refund_id", "order_line_id", name="pk_payments_refund_lines"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )


class Return(Base):
    __tablename__ = "payments_returns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="RESTRICT"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=REQUESTED)
    reason: Mapped[str] = mapped_column(String(REASON_MAX), nullable=False)
    note: Mapped[str] = mapped_column(String(REASON_MAX), nullable=False, default="")
    restocked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    decided_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("core_users.id", ondelete="SET NULL"), nullable=True)

    lines: Mapped[list["ReturnLine"]] = relationship(order_by="ReturnLine.order_line_id", lazy="raise")

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(RETURN_STATUSES)})", name="status_known"),
        Index("ix_payments_returns_user_created", "user_id", "created_at", "id"),
        Index("ix_payments_returns_status_created", "status", "created_at", "id"),
    )


class ReturnLine(Base):
    __tablename__ = "payments_return_lines"

    return_id: Mapped[int] = mapped_column(ForeignKey("payments_returns.id", ondelete="CASCADE"), nullable=False)
    order_line_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("return_id", "order_line_id", name="pk_payments_return_lines"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )


class WebhookEvent(Base):
    """A provider's event already processed: the same event id again changes nothing."""

    __tablename__ = "payments_webhook_events"

    provider: Mapped[str] = mapped_column(String(PROVIDER_MAX), nullable=False)
    event_id: Mapped[str] = mapped_column(String(REFERENCE_MAX), nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    received_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)

    __table_args__ = (PrimaryKeyConstraint("provider", "event_id", name="pk_payments_webhook_events"),)
