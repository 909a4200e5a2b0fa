"""The catalog's public events (`config.add_public_event`): what a webhook receiver learns of products and
categories. Payloads are built in the writing transaction, so `product` is the product as it now is."""
from __future__ import annotations

from shopcore.public_events import jsonable

from shopcore_catalog.api import CatalogService
from shopcore_catalog.events import (CategoryChanged, CategoryCreated, CategoryDeleted, ProductChanged,
                                     ProductCreated, ProductDeactivated, ProductDeleted)


def event_fields(request, event) -> dict:
    return jsonable(event)


def product_changed(request, event: ProductChanged) -> dict:
    product = request.find_service(CatalogService).get_product(event.product_id)
    return {"product_id": event.product_id, "changed": sorted(event.changed),
            "product": None if product is None else jsonable(product)}


def category_changed(request, event: CategoryChanged) -> dict:
    return {"category_id": event.category_id, "changed": sorted(event.changed)}


PUBLIC_EVENTS = (
    ("product.created", ProductCreated, event_fields,
     "A product was created: product_id, name, slug, price, stock, category_id, is_active."),
    ("product.updated", ProductChanged, product_changed,
     "Fields of a product changed (stock taken by a checkout too): product_id, changed (field names), "
     "product (id, name, price, stock, is_active as it now is)."),
    ("product.deactivated", ProductDeactivated, event_fields,
     "A product is no longer sold (set inactive, or deleted while an order keeps it): product_id."),
    ("product.deleted", ProductDeleted, event_fields, "A product was deleted: product_id, slug."),
    ("category.created", CategoryCreated, event_fields, "A category was created: category_id, name, slug, parent_id."),
    ("category.updated", CategoryChanged, category_changed, "Fields of a category changed: category_id, changed."),
    ("category.deleted", CategoryDeleted, event_fields, "A category was deleted: category_id, slug."),
)


def declare_public_events(config) -> None:
    for name, event_type, payload, description in PUBLIC_EVENTS:
        config.add_public_event(name, event_type, payload, description=description)
