"""Catalog events: what the catalog emits for each write, with the payload a subscriber needs."""
from decimal import Decimal

import pytest
from pyramid.config import Configurator

from shopcore_catalog.api import PRODUCT_REFERENCED, CatalogService
from shopcore_catalog.events import (CatalogEvent, CategoryChanged, CategoryCreated, CategoryDeleted, ProductChanged,
                                     ProductCreated, ProductDeactivated, ProductDeleted)


class Seen(list):
    """Events in order; `in_transaction` holds those the in-transaction subscriber saw."""

    in_transaction: list


def subscribe(registry, after_commit: bool):
    seen = Seen()

    def record(request, event):
        seen.append(event)

    config = Configurator(registry=registry)
    config.add_event_subscriber(record, CatalogEvent, after_commit=after_commit)
    config.commit()
    return seen, record


@pytest.fixture
def catalog_events(shopcore_registry):
    """The catalog events delivered after commit during the test, in order (and those seen in the transaction)."""
    committed, after = subscribe(shopcore_registry, after_commit=True)
    in_transaction, during = subscribe(shopcore_registry, after_commit=False)
    committed.in_transaction = in_transaction
    yield committed
    subscribers = shopcore_registry["shopcore.event_subscribers"]
    subscribers[:] = [entry for entry in subscribers if entry[-1] not in (after, during)]


def test_product_created_changed_deactivated_deleted(admin_app, catalog_events):
    category = admin_app.post_json("/api/categories/", {"name": "Lighting"}, status=201).json["id"]
    product = admin_app.post_json("/api/products/", {"name": "Desk lamp", "price": "12.50", "stock": 4,
                                                     "category": category}, status=201).json
    admin_app.patch_json(f"/api/products/{product['id']}/", {"price": "13.00", "name": "Desk lamp",
                                                              "stock": 4})  # only the price changes
    admin_app.patch_json(f"/api/products/{product['id']}/", {"stock": 4})  # nothing changes: no event
    admin_app.patch_json(f"/api/products/{product['id']}/", {"is_active": False})
    admin_app.delete(f"/api/products/{product['id']}/", status=204)

    assert catalog_events == [
        CategoryCreated(category_id=category, name="Lighting", slug="lighting", parent_id=None),
        ProductCreated(product_id=product["id"], name="Desk lamp", slug="desk-lamp", price=Decimal("12.50"),
                       stock=4, category_id=category, is_active=True),
        ProductChanged(product_id=product["id"], changed=frozenset({"price"})),
        ProductChanged(product_id=product["id"], changed=frozenset({"is_active"})),
        ProductDeactivated(product_id=product["id"]),
        ProductDeleted(product_id=product["id"], slug="desk-lamp"),
    ]
    # In-transaction subscribers see the same events, while the write can still be rolled back.
    assert catalog_events.in_transaction == catalog_events


def test_deleting_a_product_that_orders_keep_deactivates_it(admin_app, make_product, register_extension,
                                                            catalog_events):
    lamp = make_product("Lamp")
    register_extension(PRODUCT_REFERENCED, lambda request, product_id: product_id == lamp)
    catalog_events.clear()
    admin_app.delete(f"/api/products/{lamp}/", status=204)
    assert catalog_events == [ProductChanged(product_id=lamp, changed=frozenset({"is_active"})),
                              ProductDeactivated(product_id=lamp)]


def test_stock_taken_and_given_back_is_a_stock_change(make_product, make_request, catalog_events):
    lamp, chair = make_product("Lamp", stock=5), make_product("Chair", stock=5)
    catalog_events.in_transaction.clear()
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        assert catalog.take_stock(lamp, 1)
        assert catalog.take_stock_many({lamp: 1, chair: 2}) == set()
        assert catalog.take_stock_many({lamp: 1, chair: 99}) == {chair}  # nothing taken, nothing emitted
        catalog.return_stock(chair, 2)
    stock = frozenset({"stock"})
    assert catalog_events.in_transaction == [
        ProductChanged(lamp, stock), ProductChanged(lamp, stock), ProductChanged(chair, stock),
        ProductChanged(chair, stock)]


def test_category_changed_and_deleted(admin_app, catalog_events):
    parent = admin_app.post_json("/api/categories/", {"name": "Home"}, status=201).json["id"]
    child = admin_app.post_json("/api/categories/", {"name": "Lamps"}, status=201).json["id"]
    catalog_events.clear()
    admin_app.patch_json(f"/api/categories/{child}/", {"parent": parent, "description": "Light"})
    admin_app.patch_json(f"/api/categories/{child}/", {"name": "Lamps"})  # unchanged
    admin_app.delete(f"/api/categories/{child}/", status=204)
    assert catalog_events == [
        CategoryChanged(category_id=child, changed=frozenset({"parent", "description"})),
        CategoryDeleted(category_id=child, slug="lamps"),
    ]
