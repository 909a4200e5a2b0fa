"""Checkout by variant: stock taken per variant, lines keep the SKU and options they were bought with,
and racing clients never oversell a variant (real concurrency on PostgreSQL)."""
from collections import Counter

import pytest
from sqlalchemy import func, select

from shopcore.testing import request_context
from shopcore_cart.api import CartService
from shopcore_catalog.api import CatalogService
from shopcore_orders.models import Order, OrderLine

CHECKOUT = "/api/orders/checkout/"


def sized_product(registry, stocks: dict[str, int], price: str = "20.00") -> dict[str, int]:
    """A product sold in sizes (through the catalog's interface alone): {size: variant id}, committed."""
    with request_context(registry) as request:
        catalog = request.find_service(CatalogService)
        product = catalog.create_product("Shirt", price, stock=0)
        catalog.update_product(product.id, {"option_names": ["size"]})  # its one variant becomes size Default
        variants = {}
        for size, stock in stocks.items():
            variants[size] = catalog.create_variant(product.id, sku=f"SHIRT-{size}", options={"size": size},
                                                    price=price, stock=stock).id
    return variants


def test_checkout_takes_each_variant_and_keeps_its_sku_and_options(customer_app, make_request, shop_details):
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        shirt = catalog.create_product("Shirt", "20.00", stock=0)
        catalog.update_product(shirt.id, {"option_names": ["size"]})
        medium = catalog.create_variant(shirt.id, sku="SHIRT-M", options={"size": "M"}, price="20.00", stock=3)
        large = catalog.create_variant(shirt.id, sku="SHIRT-L", options={"size": "L"}, price="22.00", stock=1)
    customer_app.post_json("/api/cart/items/", {"variant": medium.id, "quantity": 2}, status=201)
    line = customer_app.post_json("/api/cart/items/", {"variant": large.id, "quantity": 1}, status=201).json
    assert (line["variant"], line["sku"], line["options"], line["unit_price"]) == (
        large.id, "SHIRT-L", {"size": "L"}, "22.00")
    order = customer_app.post_json(CHECKOUT, shop_details, status=201).json
    assert [(item["variant"], item["sku"], item["options"], item["quantity"], item["price"])
            for item in order["items"]] == [(medium.id, "SHIRT-M", {"size": "M"}, 2, "20.00"),
                                            (large.id, "SHIRT-L", {"size": "L"}, 1, "22.00")]
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        stocks = {v.sku: v.stock for v in catalog.get_product_variants(shirt.id)}
        assert (stocks["SHIRT-M"], stocks["SHIRT-L"], catalog.get_product(shirt.id).stock) == (1, 0, 1)
        # The catalog changes; the order keeps what was bought.
        catalog.update_product(shirt.id, {"name": "Shirt 2", "option_names": ["size", "fit"]})
    shown = customer_app.get(f"/api/orders/{order['id']}/").json
    assert [(item["sku"], item["options"]) for item in shown["items"]] == [("SHIRT-M", {"size": "M"}),
                                                                           ("SHIRT-L", {"size": "L"})]
    # Cancelling gives the units back to the variants they came from.
    customer_app.post(f"/api/orders/{order['id']}/cancel/", status=200)
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        stocks = {v.sku: v.stock for v in catalog.get_product_variants(shirt.id)}
        assert (stocks["SHIRT-M"], stocks["SHIRT-L"], catalog.get_product(shirt.id).stock) == (3, 1, 4)


def test_a_product_with_several_variants_needs_the_variant(customer_app, make_request):
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        shirt = catalog.create_product("Shirt", "20.00", stock=2)
        catalog.update_product(shirt.id, {"option_names": ["size"]})
        catalog.create_variant(shirt.id, sku="SHIRT-XL", options={"size": "XL"}, price="20.00", stock=2)
    refused = customer_app.post_json("/api/cart/items/", {"product": shirt.id, "quantity": 1}, status=400).json
    assert refused["errors"] == [{"field": "variant", "message": f"Product {shirt.id} comes in 2 variants; give the "
                                                                  "variant's id instead of the product's."}]
    both = customer_app.post_json("/api/cart/items/", {"product": shirt.id, "variant": 1, "quantity": 1},
                                  status=400).json
    assert both["errors"][0]["field"] == "variant"
    unknown = customer_app.post_json("/api/cart/items/", {"variant": 999999, "quantity": 1}, status=400).json
    assert unknown["errors"] == [{"field": "variant", "message": "Variant 999999 does not exist."}]


@pytest.mark.postgresql_only
def test_clients_racing_for_the_last_units_of_variants_never_oversell(live_server, committed, concurrency,
                                                                       run_together, shop_details, shopcore_registry):
    """24 clients at once, each wanting one M, one L or one of each, of 4 M and 3 L."""
    sizes = sized_product(shopcore_registry, {"M": 4, "L": 3})
    buyers = [committed.user(f"buyer{i}") for i in range(concurrency)]
    wants = [("M",), ("L",), ("M", "L")]
    for index, (user_id, _token) in enumerate(buyers):
        with request_context(shopcore_registry) as request:
            for size in wants[index % 3]:
                request.find_service(CartService).add_variant(user_id, sizes[size], 1)

    results = run_together(concurrency, lambda i: live_server.request("POST", CHECKOUT, buyers[i][1], shop_details))

    statuses = Counter(status for status, _body, _headers in results)
    assert set(statuses) <= {201, 409} and statuses[201] >= 1
    sold = Counter()
    for status, body, _headers in results:
        if status == 201:
            sold.update(item["sku"] for item in body["items"])
    assert sold["SHIRT-M"] <= 4 and sold["SHIRT-L"] <= 3
    with request_context(shopcore_registry) as request:
        catalog = request.find_service(CatalogService)
        variants = {v.sku: v for v in catalog.get_variants(sizes.values()).values()}
        # Exactly what was sold is gone, per variant, and the product's total follows.
        assert variants["SHIRT-M"].stock == 4 - sold["SHIRT-M"] and variants["SHIRT-L"].stock == 3 - sold["SHIRT-L"]
        product = catalog.get_product(variants["SHIRT-M"].product_id)
        assert product.stock == variants["SHIRT-M"].stock + variants["SHIRT-L"].stock
        lines = dict(request.dbsession.execute(select(OrderLine.sku, func.sum(OrderLine.quantity))
                                               .group_by(OrderLine.sku)).all())
        assert lines == {sku: count for sku, count in sold.items() if count}
        assert request.dbsession.scalar(select(func.count()).select_from(Order)) == statuses[201]
    # With 12 buyers or more wanting M alone or with L, the 4 M and 3 L are all sold.
    assert (sold["SHIRT-M"], sold["SHIRT-L"]) == (4, 3)
