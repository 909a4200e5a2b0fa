"""The catalog's public surface for other plugins: the `CatalogService` interface and what it returns.

    from shopcore_catalog.api import CatalogService

    catalog = request.find_service(CatalogService)     # bound to this request and its transaction

A product is sold in one or more variants (`VariantInfo`: a SKU, its options, its own price and
stock); a product created without options has exactly one. `ProductInfo.price` is the lowest
active variant price and `ProductInfo.stock` the sum of the active variants' stock. The
product-level stock methods (`take_stock`, `take_stock_many`, `return_stock`) work on one-variant
products and raise `InvalidInput("variant", ...)` for a product with several; the cart and orders
use the variant methods.

Other plugins (cart, orders, ...) use only these methods and types, never the catalog's tables,
models or services module. The interface is part of the plugin contract (`shopcore.plugins.
CONTRACT_VERSION`): a minor version may add methods, only a major one removes or changes them.

Bad input raises `shopcore.errors.InvalidInput` naming the field. Every change to stock, price or
any other product field invalidates the product's cache entries (detail and list pages) when the
transaction commits, and emits the catalog's events (`shopcore_catalog.events`).

Before a product is deleted the catalog asks its `catalog.product_referenced` extension point
(`PRODUCT_REFERENCED`, declared in `shopcore_catalog.points`); a plugin that keeps order lines
answers True and the product is only deactivated, so order history keeps it.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping, Protocol, runtime_checkable

from shopcore_catalog.points import PRODUCT_REFERENCED

__all__ = ["PRODUCT_REFERENCED", "CatalogService", "CategoryInfo", "ProductInfo", "VariantInfo", "catalog_service"]


@dataclass(frozen=True)
class ProductInfo:
    """What other plugins know of a product."""

    id: int
    name: str
    price: Decimal
    stock: int
    is_active: bool


@dataclass(frozen=True)
class VariantInfo:
    """What other plugins know of a variant; `is_active` is False when the variant or its product is inactive."""

    id: int
    product_id: int
    product_name: str
    sku: str
    options: dict[str, str]
    price: Decimal
    stock: int
    is_active: bool


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    name: str
    slug: str
    parent_id: int | None


@runtime_checkable
class CatalogService(Protocol):
    """Products, categories and stock, for one request (its session and transaction)."""

    def get_products(self, ids: Iterable[int]) -> dict[int, ProductInfo]:
        """The existing products among `ids` (active or not; check `is_active`), in one query.

        Missing ids are simply absent from the answer.
        """
        ...

    def get_product(self, product_id: int) -> ProductInfo | None:
        """One product (active or not), or None when it does not exist."""
        ...

    def get_variants(self, ids: Iterable[int]) -> dict[int, VariantInfo]:
        """The existing variants among `ids` (active or not; check `is_active`), with their product's
        name, in one query. Missing ids are absent from the answer."""
        ...

    def get_product_variants(self, product_id: int) -> list[VariantInfo]:
        """Every variant of a product, by id ([] when the product does not exist), in one query."""
        ...

    def take_variant_stock_many(self, quantities: Mapping[int, int]) -> set[int]:
        """Take every variant's quantity or none, race-free (one conditional UPDATE); the variant ids
        that were short, inactive or missing (empty: all taken). The products' totals follow."""
        ...

    def return_variant_stock(self, variant_id: int, quantity: int) -> None:
        """Put back units taken earlier (an order cancelled), active or not; a deleted variant is ignored."""
        ...

    def create_variant(self, product_id: int, *, sku: str, options: Mapping[str, str],
                       price: Decimal | int | str, stock: int = 0, is_active: bool = True) -> VariantInfo:
        """A new variant of a product; `options` names exactly the product's option names. A SKU or
        combination of options already used is a `Conflict`. Emits `ProductChanged`."""
        ...

    def take_stock(self, product_id: int, quantity: int) -> bool:
        """Take `quantity` units in the request's transaction; True iff the product is active and had them.

        Race-free on PostgreSQL and SQLite (one conditional UPDATE); rolled back with the transaction.
        """
        ...

    def take_stock_many(self, quantities: Mapping[int, int]) -> set[int]:
        """Take every product's quantity or none, in one statement; the ids that were short (empty: all taken)."""
        ...

    def return_stock(self, product_id: int, quantity: int) -> None:
        """Put back units taken earlier (an order cancelled), active or not; a deleted product is ignored."""
        ...

    def create_category(self, name: str, *, slug: str | None = None, description: str = "",
                        parent: int | None = None) -> CategoryInfo:
        """A new category (the slug is made from the name unless given); emits `CategoryCreated`."""
        ...

    def create_product(self, name: str, price: Decimal | int | str, *, stock: int = 0,
                       category: int | None = None, description: str = "", slug: str | None = None,
                       is_active: bool = True) -> ProductInfo:
        """A new product; `price` is a Decimal, int or string, never a float. Emits `ProductCreated`."""
        ...

    def update_product(self, product_id: int, fields: Mapping[str, Any]) -> dict:
        """Change some of a product's fields (`name`, `slug`, `description`, `price`, `stock`, `category`,
        `is_active`), with the admin endpoint's rules; returns the product's API body.

        Emits `ProductChanged` naming the fields whose value changed (and `ProductDeactivated` when
        `is_active` became false).
        """
        ...

    def delete_product(self, product_id: int) -> str:
        """Delete the product, or deactivate it when an order still refers to it.

        Returns "deleted" or "deactivated" and emits `ProductDeleted` or `ProductDeactivated`.
        """
        ...


def catalog_service(request) -> CatalogService:
    """The catalog service bound to `request` (same as `request.find_service(CatalogService)`)."""
    return request.find_service(CatalogService)
