"""Real concurrency with shipping and tax in the checkout: clients racing for the last units over HTTP never
oversell, every placed order carries the same totals (shipping and tax included), and a coupon with a usage
limit is used exactly that many times. PostgreSQL gets 24 clients at once, SQLite 8."""
from decimal import Decimal

from sqlalchemy import text

from shopcore.testing import request_context

BERLIN = {"name": "Erika Mustermann", "line1": "Heidestraße 17", "city": "Berlin", "postal_code": "10557",
          "country": "DE"}
CHECKOUT = "/api/orders/checkout/"


def committed_user(registry, username: str, *, is_admin: bool = False) -> tuple[int, str]:
    from shopcore.accounts.services import create_user
    from shopcore.accounts.tokens import issue_token_pair

    with request_context(registry) as request:
        user_id = create_user(request, username=username, email=f"{username}@example.com",
                              password="correct horse battery", is_admin=is_admin).id
    with request_context(registry) as request:
        return user_id, issue_token_pair(request, user_id)["access"]


def test_racing_checkouts_with_shipping_tax_and_a_coupon_never_oversell(live_server, shopcore_registry,
                                                                         shopcore_engine, run_together):
    concurrency = 24 if shopcore_engine.dialect.name == "postgresql" else 8
    units, coupon_uses = 5, 3
    _admin, admin = committed_user(shopcore_registry, "boss", is_admin=True)

    def as_admin(method, path, body=None):
        status, answer, _headers = live_server.request(method, path, admin, body)
        assert status in (200, 201), (path, status, answer)
        return answer

    # Every table was emptied by an earlier committed test (the migration's classes too): make sure.
    if live_server.request("POST", "/api/tax/classes/", admin, {"code": "standard", "name": "Standard"})[0] not in (
            201, 409):
        raise AssertionError("could not make the standard tax class")
    zone = as_admin("POST", "/api/shipping/zones/", {"name": "DE", "countries": ["DE"]})
    method = as_admin("POST", "/api/shipping/methods/", {"zone": zone["id"], "name": "DHL", "rule": "flat",
                                                         "price": "4.90"})
    as_admin("POST", "/api/tax/rates/", {"country": "DE", "rate": "19"})
    as_admin("POST", "/api/coupons/", {"code": "RACE5", "kind": "fixed", "value": "5.00",
                                       "usage_limit": coupon_uses})
    with request_context(shopcore_registry) as request:
        from shopcore_catalog.api import CatalogService

        product = request.find_service(CatalogService).create_product("Last lamps", "20.00", stock=units).id
    buyers = [committed_user(shopcore_registry, f"racer{i}")[1] for i in range(concurrency)]
    for token in buyers:
        assert live_server.request("POST", "/api/cart/items/", token, {"product": product, "quantity": 1})[0] == 201
        assert live_server.request("POST", "/api/cart/coupon/", token, {"code": "RACE5"})[0] == 200
    body = {"shipping_address": BERLIN, "payment_method": "card", "shipping_method": method["id"]}

    results = run_together(concurrency, lambda i: live_server.request("POST", CHECKOUT, buyers[i], body))

    placed = [answer for status, answer, _headers in results if status == 201]
    refused = [(status, answer["detail"]) for status, answer, _headers in results if status != 201]
    assert len(placed) <= units and all(status == 409 for status, _detail in refused), refused
    # Each order's parts add up; the discounted ones are the coupon's uses, exactly as many as allowed.
    for order in placed:
        totals = {name: Decimal(value) for name, value in order["totals"].items()}
        assert totals["total"] == (totals["subtotal"] - totals["discount"] + totals["fees"] + totals["shipping"]
                                   + totals["tax"] - totals["tax_included"])
    discounted = [order for order in placed if order["totals"]["discount"] == "5.00"]
    assert [order["totals"]["total"] for order in discounted] == ["23.68"] * len(discounted)  # 15.00 + 4.90 + 2.85 + 0.93
    assert len(discounted) <= coupon_uses
    with shopcore_engine.connect() as connection:
        stock = connection.execute(text("SELECT stock FROM catalog_products WHERE id = :id"), {"id": product}).scalar()
        orders = connection.execute(text("SELECT count(*) FROM orders_orders")).scalar()
        uses = connection.execute(text("SELECT uses FROM coupons_coupons WHERE code = 'RACE5'")).scalar()
    assert stock == units - len(placed) >= 0
    assert orders == len(placed)
    assert uses == len(discounted)
