"""Changes of a product's variants, pictures and attribute values change its body, so webhook subscribers
(the apps plugin) hear each as `product.updated`, naming what changed; a write that changes nothing
makes no delivery."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from shopcore_catalog.testing import image_bytes


@pytest.fixture(scope="module")
def shopcore_plugins() -> list[str]:
    return ["catalog", "apps"]


def updates(db_connection) -> list[tuple[int, list[str]]]:
    """(product_id, changed) of every `product.updated` delivery, oldest first."""
    rows = db_connection.execute(text("SELECT body FROM apps_webhook_deliveries WHERE event = 'product.updated' "
                                      "ORDER BY created_at")).scalars()
    return [(data["product_id"], data["changed"]) for data in (json.loads(body)["data"] for body in rows)]


def test_variant_picture_and_attribute_changes_are_product_updates(admin_app, db_connection):
    admin_app.post_json("/api/webhooks/", {"url": "https://hooks.example.com/shop", "events": ["product.updated"]},
                        status=201)
    admin_app.post_json("/api/attributes/", {"code": "material", "name": "Material", "type": "text"}, status=201)
    shirt = admin_app.post_json("/api/products/", {"name": "Shirt", "option_names": ["size"], "attributes":
                                                   {"material": "linen"}, "variants": [
        {"sku": "SH-M", "options": {"size": "M"}, "price": "20.00", "stock": 5}]}, status=201).json["id"]
    large = admin_app.post_json(f"/api/products/{shirt}/variants/", {
        "sku": "SH-L", "options": {"size": "L"}, "price": "22.00", "stock": 2}, status=201).json["id"]
    admin_app.patch_json(f"/api/variants/{large}/", {"price": "18.00"}, status=200)
    admin_app.patch_json(f"/api/variants/{large}/", {"price": "18.00"}, status=200)  # nothing changes
    admin_app.delete(f"/api/variants/{large}/", status=204)
    image = admin_app.post(f"/api/products/{shirt}/images/", [("alt", "Front")],
                           upload_files=[("file", "front.png", image_bytes())], status=201).json["id"]
    admin_app.patch_json(f"/api/images/{image}/", {"alt": "Back"}, status=200)
    admin_app.patch_json(f"/api/images/{image}/", {"alt": "Back"}, status=200)  # nothing changes
    admin_app.delete(f"/api/images/{image}/", status=204)
    [material] = admin_app.get("/api/attributes/").json["results"]
    admin_app.delete(f"/api/attributes/{material['id']}/", status=204)
    assert admin_app.get(f"/api/products/{shirt}/").json["attributes"] == {}

    assert updates(db_connection) == [
        (shirt, ["stock", "variants"]),            # L added: 2 more in stock
        (shirt, ["price", "variants"]),            # L at 18.00: the lowest price now
        (shirt, ["price", "stock", "variants"]),   # L deleted
        (shirt, ["images"]), (shirt, ["images"]), (shirt, ["images"]),
        (shirt, ["attributes"]),                   # its material went with the definition
    ]
