"""Orders tables: orders, their lines and adjustments (copied at checkout), and idempotency keys."""
from __future__ import annotations

import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base
from shopcore.money import Money

PENDING, PAID, CANCELLED, SHIPPED, DELIVERED = "pending", "paid", "cancelled", "shipped", "delivered"
STATUSES = (PENDING, PAID, CANCELLED, SHIPPED, DELIVERED)
SHIPPING_ADDRESS_MAX = 500
PAYMENT_METHOD_MAX = 50
PRODUCT_NAME_MAX = 200
SKU_MAX = 120
ADJUSTMENT_LABEL_MAX = 200
ADJUSTMENT_SOURCE_MAX = 100


class Order(Base):
    __tablename__ = "orders_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="RESTRICT"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    # Goods at the prices of checkout; total_price adds the adjustments (discounts, fees).
    subtotal: Mapped[Decimal] = mapped_column(Money, nullable=False)
    total_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    shipping_address: Mapped[str] = mapped_column(String(SHIPPING_ADDRESS_MAX), nullable=False)
    payment_method: Mapped[str] = mapped_column(String(PAYMENT_METHOD_MAX), nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow,
                                                          onupdate=utcnow)

    lines: Mapped[list["OrderLine"]] = relationship(order_by="OrderLine.id", lazy="raise")
    adjustments: Mapped[list["OrderAdjustment"]] = relationship(order_by="OrderAdjustment.id", lazy="raise")

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'paid', 'cancelled', 'shipped', 'delivered')", name="status_known"),
        CheckConstraint("total_price >= 0", name="total_not_negative"),
        # A customer's history, newest first; the admin list filters on status.
        Index("ix_orders_orders_user_created", "user_id", "created_at", "id"),
        Index("ix_orders_orders_status_created", "status", "created_at", "id"),
        Index("ix_orders_orders_created", "created_at", "id"),
    )


class OrderLine(Base):
    """A product as bought: its name, price, SKU and options are copied so history never depends on the catalog."""

    __tablename__ = "orders_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders_orders.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    # The catalog's product id; no foreign key: plugins reach each other through services only.
    product_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    product_name: Mapped[str] = mapped_column(String(PRODUCT_NAME_MAX), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    # The variant bought, its SKU and options as they were at checkout (null SKU and options on
    # lines older than variants).
    variant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sku: Mapped[str | None] = mapped_column(String(SKU_MAX), nullable=True)
    options: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)


class OrderAdjustment(Base):
    """A price adjustment a plugin made at checkout (a discount, a fee), kept with the order."""

    __tablename__ = "orders_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders_orders.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    label: Mapped[str] = mapped_column(String(ADJUSTMENT_LABEL_MAX), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    source: Mapped[str] = mapped_column(String(ADJUSTMENT_SOURCE_MAX), nullable=False, default="")


class IdempotencyKey(Base):
    """An `Idempotency-Key` a customer sent, the request it came with and, once done, its response."""

    __tablename__ = "orders_idempotency_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    # sha256 of method, path and canonical body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        PrimaryKeyConstraint("user_id", "key", name="pk_orders_idempotency_keys"),
        CheckConstraint("state IN ('started', 'completed')", name="state_known"),
        Index("ix_orders_idempotency_keys_created", "created_at"),
    )
