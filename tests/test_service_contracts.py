"""The catalog, cart and orders services match their documented interfaces (`api.py`), method by method.

An implementation that drops a method, renames a parameter, changes a default or an annotation
fails here, so the versioned contract and the code cannot drift apart.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from shopcore.services import protocol_mismatches
from shopcore.testing import request_context
from shopcore_cart.api import CartService
from shopcore_cart.services import DefaultCartService
from shopcore_catalog.api import CatalogService, ProductInfo
from shopcore_catalog.services import DefaultCatalogService
from shopcore_orders.api import OrderService
from shopcore_orders.services import DefaultOrderService

SERVICES = [(CatalogService, DefaultCatalogService), (CartService, DefaultCartService),
            (OrderService, DefaultOrderService)]


@pytest.mark.parametrize(("interface", "implementation"), SERVICES, ids=lambda item: item.__name__)
def test_each_implementation_matches_its_interface(interface, implementation):
    assert protocol_mismatches(interface, implementation) == []


@pytest.mark.parametrize(("interface", "implementation"), SERVICES, ids=lambda item: item.__name__)
def test_services_are_found_by_their_interface(shopcore_registry, interface, implementation):
    with request_context(shopcore_registry) as request:
        service = request.find_service(interface)
        assert type(service) is implementation
        assert isinstance(service, interface)


class Drifted:
    """A catalog whose author renamed a parameter, changed a default and forgot two methods."""

    def get_products(self, ids):  # annotations dropped
        return {}

    def get_product(self, id: int) -> ProductInfo | None:  # renamed parameter
        return None

    def take_stock(self, product_id: int, quantity: int) -> bool:
        return True

    def take_stock_many(self, quantities, *, strict: bool = True) -> set[int]:
        return set()

    def return_stock(self, product_id: int, quantity: int) -> None:
        return None

    def create_category(self, name: str, *, slug: str | None = None, description: str = "",
                        parent: int | None = None):
        return None

    def create_product(self, name: str, price: Decimal | int | str, *, stock: int = 1,  # default changed
                       category: int | None = None, description: str = "", slug: str | None = None,
                       is_active: bool = True) -> ProductInfo:
        raise NotImplementedError


class InheritsTheStubs(CatalogService):
    """Declares the interface but implements none of it: the Protocol's `...` bodies do not count."""


def test_drift_is_reported_method_by_method():
    problems = protocol_mismatches(CatalogService, Drifted)
    # The seven problems above, and the 5 variant methods of contract 2.x (issue 16) it lacks too.
    assert len(problems) == 7 + 5, problems
    for method in ("get_variants", "get_product_variants", "take_variant_stock_many", "return_variant_stock",
                   "create_variant"):
        assert f"Drifted does not implement CatalogService.{method}" in problems
    assert "Drifted does not implement CatalogService.update_product" in problems
    assert "Drifted does not implement CatalogService.delete_product" in problems
    assert any(problem.startswith("Drifted.get_product(self, id: int)") for problem in problems)
    assert any(problem.startswith("Drifted.create_product(") and "stock: int = 1" in problem for problem in problems)
    assert len(protocol_mismatches(CatalogService, InheritsTheStubs)) == 9 + 5
