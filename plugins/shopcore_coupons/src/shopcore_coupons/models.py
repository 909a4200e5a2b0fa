"""Coupon tables: the codes, the code applied to each customer's cart, uses per customer, and redemptions."""
from __future__ import annotations

import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base
from shopcore.money import Money

PERCENTAGE, FIXED = "percentage", "fixed"
KINDS = (PERCENTAGE, FIXED)
CODE_MAX = 32


class Coupon(Base):
    __tablename__ = "coupons_coupons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored upper-case: customers type codes in any case.
    code: Mapped[str] = mapped_column(String(CODE_MAX), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    # A percentage (0.01 to 100.00) or an amount of money, by `kind`.
    value: Mapped[Decimal] = mapped_column(Money, nullable=False)
    minimum_total: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    expires_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    usage_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Orders placed with the coupon (less the cancelled ones); only checkout and cancellation change it.
    uses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('percentage', 'fixed')", name="kind_known"),
        CheckConstraint("value > 0 AND (kind = 'fixed' OR value <= 100)", name="value_range"),
        CheckConstraint("minimum_total IS NULL OR minimum_total >= 0", name="minimum_not_negative"),
        CheckConstraint("usage_limit IS NULL OR usage_limit >= 1", name="usage_limit_positive"),
        CheckConstraint("per_customer_limit IS NULL OR per_customer_limit >= 1", name="per_customer_positive"),
        # The last line of defence of the usage limit; checkout's conditional UPDATE never reaches it.
        CheckConstraint("uses >= 0 AND (usage_limit IS NULL OR uses <= usage_limit)", name="uses_within_limit"),
    )


class AppliedCoupon(Base):
    """The one code a customer has applied to their cart."""

    __tablename__ = "coupons_applied"

    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons_coupons.id", ondelete="CASCADE"), nullable=False,
                                           index=True)
    applied_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)


class CustomerUses(Base):
    """How many of a coupon's uses one customer holds: the per-customer limit is checked against it."""

    __tablename__ = "coupons_customer_uses"

    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons_coupons.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), nullable=False)
    uses: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("coupon_id", "user_id", name="pk_coupons_customer_uses"),
        CheckConstraint("uses >= 0", name="uses_not_negative"),
    )


class Redemption(Base):
    """A coupon used by an order: which, by whom, for how much. The order keeps its own discount line."""

    __tablename__ = "coupons_redemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons_coupons.id", ondelete="CASCADE"), nullable=False,
                                           index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), nullable=False)
    # The orders plugin's order id; no foreign key: plugins reach each other through services only.
    order_id: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    discount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    # Set when the order is cancelled and its use given back.
    released_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
