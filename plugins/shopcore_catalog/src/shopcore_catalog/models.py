"""Catalog tables: categories (a tree) and products; only this plugin reads or writes them."""
from __future__ import annotations

import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base
from shopcore.money import MONEY_MAX, Money

CATEGORY_NAME_MAX = 100
SLUG_MAX = 120
PRODUCT_NAME_MAX = 200
DESCRIPTION_MAX = 5000
# The largest price the column holds.
PRICE_MAX = MONEY_MAX
STOCK_MAX = 2_000_000_000


class Category(Base):
    __tablename__ = "catalog_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX), nullable=False)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_categories.id"), nullable=True, index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow,
                                                          onupdate=utcnow)

    __table_args__ = (
        # Names are unique whatever their case ("Books" and "books" are one category).
        Index("uq_catalog_categories_name_lower", func.lower(name), unique=True),
    )


class Product(Base):
    __tablename__ = "catalog_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(PRODUCT_NAME_MAX), nullable=False)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    stock: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_categories.id"), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow,
                                                          onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        # The public list always filters on is_active; each ordering (and the price range filter)
        # walks one of these in order, with id as the tie-breaker that keeps pages stable.
        Index("ix_catalog_products_active_id", is_active, id),
        Index("ix_catalog_products_active_name", is_active, name, id),
        Index("ix_catalog_products_active_price", is_active, price, id),
        Index("ix_catalog_products_active_created", is_active, created_at, id),
        Index("ix_catalog_products_active_stock", is_active, stock, id),
        Index("ix_catalog_products_category", category_id, is_active),
    )
