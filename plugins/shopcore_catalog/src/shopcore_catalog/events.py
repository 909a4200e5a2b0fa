"""Catalog events, emitted with `request.notify` by the catalog service, in the writing transaction.

Subscribe in the transaction (`after_commit=False`) to write rows that must commit with the change,
or after commit to react (refresh a search index, tell a cache elsewhere). Field names in `changed`
are those of the product's (or category's) API body: `name`, `slug`, `description`, `price`,
`stock`, `category`, `is_active`, `option_names`, and `variants`, `attributes` or `images` when
those changed (`parent` for a category).

Stock taken by a checkout or given back by a cancellation is a change too: `ProductChanged` with
`changed={"stock"}`. The demo seeding command (`seed-demo`) is a bulk load and emits nothing;
`catalog-import` emits `ProductCreated` and `ProductChanged` for what it creates or changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shopcore.events import ShopEvent

__all__ = ["CatalogEvent", "CategoryChanged", "CategoryCreated", "CategoryDeleted", "CategoryEvent",
           "ProductChanged", "ProductCreated", "ProductDeactivated", "ProductDeleted", "ProductEvent"]


@dataclass(frozen=True)
class CatalogEvent(ShopEvent):
    """Base of every catalog event (subscribe to it to receive them all)."""


@dataclass(frozen=True)
class ProductEvent(CatalogEvent):
    product_id: int


@dataclass(frozen=True)
class ProductCreated(ProductEvent):
    name: str
    slug: str
    price: Decimal
    stock: int
    category_id: int | None
    is_active: bool


@dataclass(frozen=True)
class ProductChanged(ProductEvent):
    """Some fields changed value; `changed` names them (a write that changed nothing emits nothing)."""

    changed: frozenset[str]


@dataclass(frozen=True)
class ProductDeactivated(ProductEvent):
    """No longer sold: set inactive, or "deleted" while an order still refers to it."""


@dataclass(frozen=True)
class ProductDeleted(ProductEvent):
    """Gone for good; `slug` is what it was known by."""

    slug: str


@dataclass(frozen=True)
class CategoryEvent(CatalogEvent):
    category_id: int


@dataclass(frozen=True)
class CategoryCreated(CategoryEvent):
    name: str
    slug: str
    parent_id: int | None


@dataclass(frozen=True)
class CategoryChanged(CategoryEvent):
    changed: frozenset[str]


@dataclass(frozen=True)
class CategoryDeleted(CategoryEvent):
    slug: str
