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


def test_take_stock_many_takes_every_line_or_none(make_request, make_product):
    lamp = make_product("Lamp", stock=3)
    bulb = make_product("Bulb", stock=1)
    retired = make_product("Retired", stock=9, is_active=False)
    with make_request() as request:
        catalog = catalog_service(request)
        assert catalog.take_stock_many({lamp: 2, bulb: 2}) == {bulb}
        assert catalog.take_stock_many({lamp: 1, retired: 1}) == {retired}
        assert catalog.take_stock_many({lamp: 3, bulb: 1}) == set()
        assert catalog.take_stock_many({}) == set()
    with make_request() as request:
        stocks = {pid: info.stock for pid, info in catalog_service(request).get_products([lamp, bulb, retired]).items()}
    assert stocks == {lamp: 0, bulb: 0, retired: 9}


def test_racing_requests_never_take_more_than_there_is(shopcore_registry, committed_db):
    """Real transactions on their own connections, all at once: exactly the stock is taken."""
    import threading

    from shopcore.testing import request_context

    units, buyers = 5, 8 if committed_db.dialect.name == "sqlite" else 16
    with request_context(shopcore_registry) as request:
        single = catalog_service(request).create_product("Last lamps", "20.00", stock=units).id
        pair = catalog_service(request).create_product("Last bulbs", "2.00", stock=units).id
    barrier = threading.Barrier(buyers)
    outcomes: list[tuple[bool, bool]] = []

    def buy() -> None:
        barrier.wait()
        with request_context(shopcore_registry) as request:
            took_single = catalog_service(request).take_stock(single, 1)
        with request_context(shopcore_registry) as request:
            took_pair = not catalog_service(request).take_stock_many({single: 1, pair: 1})
        outcomes.append((took_single, took_pair))

    threads = [threading.Thread(target=buy) for _ in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == buyers
    taken_single = sum(single_taken for single_taken, _ in outcomes)
    taken_pairs = sum(pair_taken for _, pair_taken in outcomes)
    assert taken_single + taken_pairs == units  # the lamps: none oversold, none lost
    with request_context(shopcore_registry) as request:
        products = catalog_service(request).get_products([single, pair])
    assert products[single].stock == 0
    assert products[pair].stock == units - taken_pairs
