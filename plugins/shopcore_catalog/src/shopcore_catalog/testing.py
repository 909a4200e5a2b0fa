"""The catalog's test kit (a pytest plugin, loaded by this package's `pytest11` entry point): categories
and products made through the catalog service, for any suite whose allow-list has `catalog`.

- `make_category(name=None, parent=None, **fields)` -> the new category's id.
- `make_product(name="Product", price="10.00", stock=10, category=None, is_active=True, **fields)`
  -> the new product's id (rolled back with the test, like `make_user`).
- `make_committed_product(...)`: the same, committed for real (concurrency tests, with `committed_db`).

A suite without `catalog` in its allow-list that asks for one of these is skipped, saying so.
"""
from __future__ import annotations

import itertools

import pytest

__all__ = ["make_category", "make_committed_product", "make_product", "product_factory"]


def _catalog(request):
    from shopcore_catalog.api import catalog_service

    return catalog_service(request)


def _require_catalog(registry) -> None:
    if "catalog" not in {manifest.name for manifest in registry["shopcore.plugins"]}:
        pytest.skip("needs the catalog plugin: add 'catalog' to this suite's shopcore_plugins allow-list")


@pytest.fixture
def make_category(shopcore_registry, make_request):
    """`make_category(name=None, parent=None, **fields)` creates a category and returns its id."""
    _require_catalog(shopcore_registry)
    made = itertools.count(1)

    def make(name: str | None = None, parent: int | None = None, **fields) -> int:
        with make_request() as request:
            return _catalog(request).create_category(name or f"Category {next(made)}", parent=parent, **fields).id

    return make


def product_factory(open_request):
    """`make(name="Product", price="10.00", stock=10, ...)` -> product id, written in `open_request()`."""

    def make(name: str = "Product", price="10.00", stock: int = 10, category: int | None = None,
             is_active: bool = True, **fields) -> int:
        with open_request() as request:
            return _catalog(request).create_product(name, price, stock=stock, category=category,
                                                    is_active=is_active, **fields).id

    return make


@pytest.fixture
def make_product(shopcore_registry, make_request):
    """`make_product(name="Product", price="10.00", stock=10, category=None, is_active=True)` -> its id."""
    _require_catalog(shopcore_registry)
    return product_factory(make_request)


@pytest.fixture
def make_committed_product(shopcore_registry, make_committed_request):
    """`make_product`, committed for real (for concurrency tests)."""
    _require_catalog(shopcore_registry)
    return product_factory(make_committed_request)
