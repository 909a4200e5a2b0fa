"""Shipping tables: zones (sets of countries), methods per zone with a price rule, weight bands, product weights."""
from __future__ import annotations

import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base
from shopcore.money import Money

FLAT, FREE_ABOVE, WEIGHT = "flat", "free_above", "weight"
RULES = (FLAT, FREE_ABOVE, WEIGHT)
NAME_MAX = 100


class ShippingZone(Base):
    __tablename__ = "shipping_zones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)

    countries: Mapped[list["ZoneCountry"]] = relationship(order_by="ZoneCountry.country", lazy="selectin",
                                                          cascade="all, delete-orphan")


class ZoneCountry(Base):
    """A country of a zone; a country belongs to one zone at most, so a destination finds its zone at once."""

    __tablename__ = "shipping_zone_countries"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("shipping_zones.id", ondelete="CASCADE"), nullable=False,
                                         index=True)


class ShippingMethod(Base):
    __tablename__ = "shipping_methods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("shipping_zones.id", ondelete="CASCADE"), nullable=False,
                                         index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    rule: Mapped[str] = mapped_column(String(16), nullable=False)
    # flat and free_above: the price; weight: unused (0.00), the bands price it.
    price: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    # free_above: the goods total (after discounts) from which shipping costs nothing.
    free_above: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The one method a checkout without a method (or with a free-text address) uses.
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)

    bands: Mapped[list["WeightBand"]] = relationship(order_by="WeightBand.up_to_grams", lazy="selectin",
                                                     cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("rule IN ('flat', 'free_above', 'weight')", name="rule_known"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("free_above IS NULL OR free_above >= 0", name="free_above_not_negative"),
        Index("uq_shipping_methods_default", "is_default", unique=True, postgresql_where=text("is_default"),
              sqlite_where=text("is_default")),
    )


class WeightBand(Base):
    """A weight-rule method's price for carts weighing up to `up_to_grams` (and more than the band below)."""

    __tablename__ = "shipping_weight_bands"

    method_id: Mapped[int] = mapped_column(ForeignKey("shipping_methods.id", ondelete="CASCADE"), nullable=False)
    up_to_grams: Mapped[int] = mapped_column(Integer, nullable=False)
    price: Mapped[Decimal] = mapped_column(Money, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("method_id", "up_to_grams", name="pk_shipping_weight_bands"),
        CheckConstraint("up_to_grams >= 1", name="up_to_positive"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )


class ProductWeight(Base):
    """A catalog product's shipping weight, kept here (by product id, no foreign key) since only shipping needs it."""

    __tablename__ = "shipping_product_weights"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weight_grams: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (CheckConstraint("weight_grams >= 0", name="weight_not_negative"),)
