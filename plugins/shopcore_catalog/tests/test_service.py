"""The catalog service as other plugins use it: product lookups, stock taking and returning, creation."""
from decimal import Decimal

import pytest

from shopcore.errors import InvalidInput
from shopcore_catalog.api import ProductInfo, catalog_service


def test_get_products_returns_info_for_existing_ids_in_one_call(make_request, make_product):
    first = make_product("Laptop", price="50000.00", stock=3)
    second = make_product("Phone", price=30000, stock=0, is_active=False)
    with make_request() as request:
        products = catalog_service(request).get_products([first, second, 999_999])
    assert products == {
        first: ProductInfo(id=first, name="Laptop", price=Decimal("50000.00"), stock=3, is_active=True),
        second: ProductInfo(id=second, name="Phone", price=Decimal("30000.00"), stock=0, is_active=False),
    }
    with make_request() as request:
        assert catalog_service(request).get_products([]) == {}
        assert catalog_service(request).get_product(999_999) is None


def test_take_stock_takes_only_what_is_there(make_request, make_product):
    product = make_product(stock=2)
    with make_request() as request:
        catalog = catalog_service(request)
        assert catalog.take_stock(product, 2) is True
        assert catalog.take_stock(product, 1) is False
    with make_request() as request:
        assert catalog_service(request).get_product(product).stock == 0


def test_take_stock_refuses_inactive_products(make_request, make_product):
    product = make_product(stock=5, is_active=False)
    with make_request() as request:
        assert catalog_service(request).take_stock(product, 1) is False


def test_taken_stock_comes_back_when_the_transaction_aborts(make_request, make_product):
    product = make_product(stock=4)
    with pytest.raises(RuntimeError):
        with make_request() as request:
            assert catalog_service(request).take_stock(product, 4) is True
            raise RuntimeError("checkout failed later")
    with make_request() as request:
        assert catalog_service(request).get_product(product).stock == 4


def test_return_stock_adds_units_back(make_request, make_product):
    product = make_product(stock=1)
    with make_request() as request:
        catalog_service(request).return_stock(product, 3)
    with make_request() as request:
        assert catalog_service(request).get_product(product).stock == 4


@pytest.mark.parametrize("quantity", [0, -1, True, 2.0])
def test_stock_quantities_must_be_positive_whole_numbers(make_request, make_product, quantity):
    product = make_product()
    with make_request() as request:
        with pytest.raises(InvalidInput) as caught:
            catalog_service(request).take_stock(product, quantity)
    assert caught.value.errors[0]["field"] == "quantity"


def test_fixtures_create_categories_and_products(make_request, make_category, make_product):
    parent = make_category("Electronics")
    child = make_category("Phones", parent=parent)
    product = make_product("Phone", price="199.99", category=child)
    with make_request() as request:
        catalog = catalog_service(request)
        assert catalog.category_detail(child)["parent"] == parent
        assert catalog.product_detail(product)["category"] == child
        assert catalog.get_product(product).price == Decimal("199.99")
