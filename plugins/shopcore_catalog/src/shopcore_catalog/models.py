"""Catalog tables: categories (a tree), products with their variants, attribute definitions and values,
and images; only this plugin reads or writes them.

A product's `price` and `stock` are kept equal to its variants' (the lowest active price, the sum
of the stock) by the catalog service, in the writing transaction: the list filters and orders on
them through the product indexes, whatever the number of variants.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, query_expression

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
SKU_MAX = 120
OPTION_NAMES_MAX = 5
OPTION_NAME_MAX = 50
OPTION_VALUE_MAX = 100
ATTRIBUTE_CODE_MAX = 50
ATTRIBUTE_NAME_MAX = 100
ATTRIBUTE_VALUE_MAX = 200
ATTRIBUTE_CHOICES_MAX = 100
ATTRIBUTE_TYPES = ("text", "number", "boolean", "choice")
IMAGE_ALT_MAX = 300
STORAGE_KEY_MAX = 200


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
    # The names of the options its variants differ by, in display order (["size", "color"]); [] for
    # a product sold in one variant.
    option_names: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow,
                                                          onupdate=utcnow)

    # Filled by the list and detail queries (shopcore.db.json_rows): the variants, attribute values
    # and images of the product, read in the product's own query.
    variant_rows = query_expression()
    attribute_rows = query_expression()
    image_rows = query_expression()

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


class Variant(Base):
    """One sellable form of a product (a size and colour), with its own SKU, price and stock."""

    __tablename__ = "catalog_variants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("catalog_products.id", ondelete="CASCADE"), nullable=False)
    sku: Mapped[str] = mapped_column(String(SKU_MAX), nullable=False)
    # {"size": "M", "color": "red"}: exactly the product's option names.
    options: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # A digest of the options in a fixed order: no two variants of a product share a combination.
    options_key: Mapped[str] = mapped_column(String(64), nullable=False)
    price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    stock: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow,
                                                          onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        # SKUs are unique whatever their case; on PostgreSQL the index has text_pattern_ops, so it
        # also serves the search's SKU prefix match (LIKE 'abc%').
        Index("uq_catalog_variants_sku_lower", func.lower(sku), unique=True,
              postgresql_ops={"sku_lower": "text_pattern_ops"}),
        Index("uq_catalog_variants_product_options", product_id, options_key, unique=True),
    )


class Attribute(Base):
    """A typed attribute definition (`material`: choice of oak, pine; `width_cm`: number)."""

    __tablename__ = "catalog_attributes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(ATTRIBUTE_CODE_MAX), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(ATTRIBUTE_NAME_MAX), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    choices: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    __table_args__ = (CheckConstraint("type IN ('text', 'number', 'boolean', 'choice')", name="type_known"),)


class ProductAttribute(Base):
    """A product's value of one attribute, in a canonical text form (see services.canonical_attribute_value):
    one (attribute, value) index serves the list's `attribute=code:value` filter for every type."""

    __tablename__ = "catalog_product_attributes"

    product_id: Mapped[int] = mapped_column(ForeignKey("catalog_products.id", ondelete="CASCADE"), nullable=False)
    attribute_id: Mapped[int] = mapped_column(ForeignKey("catalog_attributes.id", ondelete="CASCADE"),
                                              nullable=False)
    value: Mapped[str] = mapped_column(String(ATTRIBUTE_VALUE_MAX), nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("product_id", "attribute_id", name="pk_catalog_product_attributes"),
        Index("ix_catalog_product_attributes_filter", attribute_id, value, product_id),
    )


class Image(Base):
    """A product picture: the original and its thumbnail live in the media storage under these keys."""

    __tablename__ = "catalog_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("catalog_products.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    storage_key: Mapped[str] = mapped_column(String(STORAGE_KEY_MAX), nullable=False)
    thumbnail_key: Mapped[str] = mapped_column(String(STORAGE_KEY_MAX), nullable=False)
    alt: Mapped[str] = mapped_column(String(IMAGE_ALT_MAX), nullable=False, default="")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    # Where an imported image came from (a URL or a path of the CSV), so importing it again is a no-op.
    source: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
