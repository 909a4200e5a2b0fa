"""Tax tables: tax classes, rates per class, country and region, and the class of each catalog product."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopcore.db import Base

STANDARD = "standard"
CODE_MAX = 32
NAME_MAX = 100
# Percent with three decimals (7.700, 19.000, 8.875).
RATE = Numeric(6, 3)


class TaxClass(Base):
    __tablename__ = "tax_classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_MAX), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)


class TaxRate(Base):
    """The rate of a class in a country, or in one region of it (`region` empty: the whole country)."""

    __tablename__ = "tax_rates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tax_class_id: Mapped[int] = mapped_column(ForeignKey("tax_classes.id", ondelete="CASCADE"), nullable=False,
                                              index=True)
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    region: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    rate: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    label: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False, default="")

    __table_args__ = (
        UniqueConstraint("tax_class_id", "country", "region", name="uq_tax_rates_class_place"),
        CheckConstraint("rate >= 0 AND rate <= 100", name="rate_range"),
    )


class ProductTaxClass(Base):
    """A catalog product's tax class, kept here (by product id, no foreign key); absent: the standard class."""

    __tablename__ = "tax_product_classes"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tax_class_id: Mapped[int] = mapped_column(ForeignKey("tax_classes.id", ondelete="CASCADE"), nullable=False,
                                              index=True)
