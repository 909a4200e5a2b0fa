"""The catalog's public surface for other plugins: the service they call and what it returns.

    catalog = request.find_service(name="catalog")     # a CatalogService bound to this request

Other plugins (cart, orders, ...) use only these methods, never the catalog's tables or models:

- `get_products(ids) -> dict[int, ProductInfo]`: the existing products among `ids` (active or
  not; check `is_active`), in ONE query. Missing ids are simply absent.
- `get_product(id) -> ProductInfo | None`.
- `take_stock(product_id, quantity) -> bool`: atomically takes `quantity` units in the request's
  transaction; True iff the product is active and had enough (race-free on PostgreSQL and SQLite:
  a conditional `UPDATE ... WHERE stock >= n AND is_active`). Rolled back with the transaction.
- `take_stock_many({product_id: quantity}) -> set[int]`: takes every line or none, in ONE
  conditional UPDATE (a checkout's query count does not grow with its lines); returns the ids that
  were short (inactive or not enough stock), empty when everything was taken.
- `return_stock(product_id, quantity)`: puts units back (an order cancelled), active or not.
- `create_category(name, *, slug=None, description="", parent=None) -> CategoryInfo`.
- `create_product(name, price, *, stock=0, category=None, description="", slug=None,
  is_active=True) -> ProductInfo`. `price` is a Decimal, int or string, never a float.

Bad input raises `shopcore.errors.InvalidInput` naming the field. Every change to stock, price or
any other product field invalidates the product's cache entries (detail and list pages) when the
transaction commits.

Before a product is deleted the catalog asks its `catalog.product_referenced` extension point
(`PRODUCT_REFERENCED`); a plugin that keeps order lines answers True and the product is only
deactivated, so order history keeps it.
"""
from shopcore_catalog.points import PRODUCT_REFERENCED
from shopcore_catalog.services import SERVICE_NAME, CatalogService, CategoryInfo, ProductInfo

__all__ = ["PRODUCT_REFERENCED", "SERVICE_NAME", "CatalogService", "CategoryInfo", "ProductInfo", "catalog_service"]


def catalog_service(request) -> CatalogService:
    """The catalog service bound to `request`."""
    return request.find_service(name=SERVICE_NAME)
