"""A customer's own requests racing (a double click, two tabs): one line, never a duplicate-key 500."""
from shopcore.testing import request_context
from shopcore_catalog.api import CatalogService


def committed_customer_and_product(registry, stock: int) -> tuple[int, str, int]:
    from shopcore.accounts.services import create_user
    from shopcore.accounts.tokens import issue_token_pair

    with request_context(registry) as request:
        user_id = create_user(request, username="clicker", email="clicker@example.com",
                              password="correct horse battery").id
        product_id = request.find_service(CatalogService).create_product("Lamp", "5.00", stock=stock).id
    with request_context(registry) as request:
        return user_id, issue_token_pair(request, user_id)["access"], product_id


def test_racing_adds_of_one_product_land_on_one_line_within_the_stock(live_server, shopcore_registry, run_together,
                                                                      shopcore_engine):
    clients = 16 if shopcore_engine.dialect.name == "postgresql" else 8
    stock = clients // 2
    _user_id, token, product = committed_customer_and_product(shopcore_registry, stock)

    results = run_together(clients, lambda i: live_server.request(
        "POST", "/api/cart/items/", token, {"product": product, "quantity": 1}))

    statuses = sorted(status for status, _body, _headers in results)
    assert statuses.count(409) == clients - stock
    assert set(statuses) - {409} <= {200, 201} and 201 in statuses
    cart = live_server.request("GET", "/api/cart/", token)[1]
    assert [(item["product"], item["quantity"]) for item in cart["items"]] == [(product, stock)]
    assert {body["errors"][0]["field"] for status, body, _headers in results if status == 409} == {"quantity"}
