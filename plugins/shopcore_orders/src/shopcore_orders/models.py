"""Orders tables: orders, their lines and adjustments (copied at checkout).

(The Idempotency-Keys moved to the core in contract 2.1: `shopcore.idempotency`, `core_idempotency_keys`.)
"""
from __future__ import annotations

import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base
from shopcore.money import Money

PENDING, PAID, CANCELLED, SHIPPED, DELIVERED = "pending", "paid", "cancelled", "shipped", "delivered"
# Money given back (contract 2.1, the payments plugin's refunds): part of what was captured, or all of it.
PARTIALLY_REFUNDED, REFUNDED = "partially_refunded", "refunded"
STATUSES = (PENDING, PAID, CANCELLED, SHIPPED, DELIVERED, PARTIALLY_REFUNDED, REFUNDED)
STATUS_CHECK = "status IN ({})".format(", ".join(f"'{status}'" for status in STATUSES))
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
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=PENDING)
    # Goods at the prices of checkout; total_price is what the customer pays: the goods after the
    # adjustments (discounts, fees), plus shipping and the tax not already inside the prices
    # (total = subtotal - discount + fees + shipping + tax - tax_included; docs/checkout.md).
    subtotal: Mapped[Decimal] = mapped_column(Money, nullable=False)
    total_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    discount_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    fee_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    shipping_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    tax_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    tax_included: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    # Copies as they were at checkout (JSON, amounts as decimal strings): {"id", "name", "price"};
    # the structured addresses (null for a free-text one, and billing null when it is the shipping
    # address); the tax lines [{"line", "label", "rate", "amount", "included"}].
    shipping_method: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    shipping_address_details: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    billing_address: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    tax_lines: Mapped[list | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    # The address as text: given so, or the structured one's postal label.
    shipping_address: Mapped[str] = mapped_column(String(SHIPPING_ADDRESS_MAX), nullable=False)
    payment_method: Mapped[str] = mapped_column(String(PAYMENT_METHOD_MAX), nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow,
                                                          onupdate=utcnow)
    # When it was shipped and delivered: a refund changes the status, these keep the fulfilment (a
    # partially refunded order may still ship; a return's window counts from delivery).
    shipped_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    delivered_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)

    lines: Mapped[list["OrderLine"]] = relationship(order_by="OrderLine.id", lazy="raise")
    adjustments: Mapped[list["OrderAdjustment"]] = relationship(order_by="OrderAdjustment.id", lazy="raise")

    __table_args__ = (
        CheckConstraint(STATUS_CHECK, name="status_known"),
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
