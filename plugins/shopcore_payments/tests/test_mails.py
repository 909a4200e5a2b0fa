"""Mails of refunds and returns, through the notifications plugin, over real SMTP (aiosmtpd in the test process)."""
import webtest

from shopcore.testing import request_context
from shopcore_cart.api import CartService
from shopcore_catalog.api import CatalogService

CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def test_refunds_and_returns_mail_the_customer_once_each(messaging_app, smtp_server, make_committed_user, token_for):
    registry = messaging_app(**{"shopcore.shop_name": "Test Shop", **smtp_server.settings()})
    app = webtest.TestApp(registry["shopcore.test_wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    customer = make_committed_user("olga", email="olga@example.com")
    admin = make_committed_user("boss", is_admin=True)
    as_customer = {"Authorization": f"Bearer {token_for(customer)['access']}"}
    as_admin = {"Authorization": f"Bearer {token_for(admin)['access']}"}
    with request_context(registry) as request:
        lamp = request.find_service(CatalogService).create_product("Desk lamp", "12.50", stock=10).id
    with request_context(registry) as request:
        request.find_service(CartService).add_item(customer, lamp, 2)
    order = app.post_json("/api/orders/checkout/", CHECKOUT, headers=as_customer, status=201).json
    app.post(f"/api/orders/{order['id']}/pay/", headers=as_customer, status=200)
    for status in ("shipped", "delivered"):
        app.patch_json(f"/api/orders/{order['id']}/status/", {"status": status}, headers=as_admin, status=200)
    line = order["items"][0]["id"]
    app.post_json(f"/api/orders/{order['id']}/refunds/", {"amount": "2.50", "reason": "Scratched base"},
                  headers=as_admin, status=201)
    asked = app.post_json(f"/api/orders/{order['id']}/returns/", {"lines": [{"item": line, "quantity": 1}],
                                                                 "reason": "Too bright"}, headers=as_customer,
                          status=201).json
    app.post_json(f"/api/returns/{asked['id']}/reject/", {"note": "Used for a year"}, headers=as_admin, status=200)

    messages = smtp_server.wait_for(6)
    assert [m["Subject"] for m in messages] == [
        f"Your Test Shop order #{order['id']} is placed", f"Payment received for order #{order['id']}",
        f"Your order #{order['id']} is on its way", f"A refund for order #{order['id']}",
        f"We have your return #{asked['id']} for order #{order['id']}",
        f"Your return #{asked['id']} for order #{order['id']} was not accepted"]
    refunded = text_of(messages[3])
    assert "we have refunded 2.50 USD of order" in refunded and "Reason: Scratched base" in refunded
    assert "Refunded for this order so far: 2.50 of 25.00." in refunded
    assert "Desk lamp  1" in text_of(messages[4]) and "Reason: Too bright" in text_of(messages[4])
    assert "Why: Used for a year" in text_of(messages[5])
    assert all(m["To"] == "olga@example.com" for m in messages)


def test_an_approved_return_sends_the_refund_mail_naming_the_return(messaging_app, smtp_server, make_committed_user,
                                                                  token_for):
    registry = messaging_app(**{"shopcore.shop_name": "Test Shop", **smtp_server.settings()})
    app = webtest.TestApp(registry["shopcore.test_wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    customer, admin = make_committed_user("ida"), make_committed_user("chief", is_admin=True)
    as_customer = {"Authorization": f"Bearer {token_for(customer)['access']}"}
    as_admin = {"Authorization": f"Bearer {token_for(admin)['access']}"}
    with request_context(registry) as request:
        mug = request.find_service(CatalogService).create_product("Blue mug", "8.00", stock=10).id
    with request_context(registry) as request:
        request.find_service(CartService).add_item(customer, mug, 1)
    order = app.post_json("/api/orders/checkout/", CHECKOUT, headers=as_customer, status=201).json
    app.post(f"/api/orders/{order['id']}/pay/", headers=as_customer, status=200)
    for status in ("shipped", "delivered"):
        app.patch_json(f"/api/orders/{order['id']}/status/", {"status": status}, headers=as_admin, status=200)
    asked = app.post_json(f"/api/orders/{order['id']}/returns/",
                          {"lines": [{"item": order["items"][0]["id"], "quantity": 1}], "reason": "Chipped"},
                          headers=as_customer, status=201).json
    app.post(f"/api/returns/{asked['id']}/approve/", headers=as_admin, status=200)
    messages = smtp_server.wait_for(5)  # placed, paid, shipped, return received, refunded
    assert messages[-1]["Subject"] == f"Order #{order['id']} is refunded"
    text = text_of(messages[-1])
    assert f"for your return #{asked['id']}" in text and "Blue mug  1 = 8.00" in text
    assert len(smtp_server.messages) == 5
