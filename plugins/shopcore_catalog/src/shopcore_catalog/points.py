"""The catalog's extension point, `catalog.product_referenced` (see shopcore_catalog.api)."""
from __future__ import annotations

PRODUCT_REFERENCED = "catalog.product_referenced"
PRODUCT_REFERENCED_DOC = """Deleting a product
`implementation(request, product_id: int) -> bool`, asked inside the delete request's transaction
before a product is deleted. Answer True when your plugin still refers to the product (an order line
keeps it): the catalog then deactivates it instead of deleting it.
"""
PRODUCT_REFERENCED_BUDGET = 5.0


def declare_points(config) -> None:
    config.add_extension_point(PRODUCT_REFERENCED, doc=PRODUCT_REFERENCED_DOC,
                               budget_seconds=PRODUCT_REFERENCED_BUDGET, failure="block")
