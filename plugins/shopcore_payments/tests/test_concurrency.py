"""Races with real commits over real HTTP: 24 refunds of one order never exceed what was captured (PostgreSQL
row locks), and confirmations racing each other or a cancellation leave one outcome."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from shopcore.testing import request_context
from shopcore_cart.api import CartService
from shopcore_catalog.api import CatalogService

CHECKOUT = {"shipping_address": "1 Main St, Springfield", "payment_method": "credit_card"}


@pytest.fixture
def shop(shopcore_registry, committed_db, live_server, make_committed_user, token_for):
    class Shop:
        def user(self, name, admin=False):
            user_id = make_committed_user(name, is_admin=admin)
            return user_id, token_for(user_id)["access"]

        def order(self, token, user_id, price="10.00", quantity=10) -> dict:
            with request_context(shopcore_registry) as request:
                product = request.find_service(CatalogService).create_product(f"P{user_id}-{price}", price, stock=100).id
            with request_context(shopcore_registry) as request:
                request.find_service(CartService).add_item(user_id, product, quantity)
            status, body, _ = live_server.request("POST", "/api/orders/checkout/", token, CHECKOUT)
            assert status == 201, body
            return body

        def scalar(self, statement):
            with request_context(shopcore_registry) as request:
                return request.dbsession.scalar(statement)

    return Shop()


@pytest.mark.postgresql_only
def test_24_concurrent_refunds_never_exceed_the_captured_sum(shop, live_server, run_together, payments_of_committed):
    customer, token = shop.user("buyer")
    _admin, admin_token = shop.user("boss", admin=True)
    order = shop.order(token, customer)  # 10 units at 10.00: 100.00
    assert live_server.request("POST", f"/api/orders/{order['id']}/pay/", token)[0] == 200
    statuses = run_together(24, lambda i: live_server.request(
        "POST", f"/api/orders/{order['id']}/refunds/", admin_token, {"amount": "7.00", "reason": f"refund {i}"})[0])
    assert sorted(statuses) == [201] * 14 + [409] * 10  # 14 x 7.00 = 98.00; a 15th would exceed 100.00
    captured, refunded, count = payments_of_committed(order["id"])
    assert (captured, refunded, count) == (Decimal("100.00"), Decimal("98.00"), 14)
    # Lines too: 24 refunds of one unit each of a 10-unit line give exactly 10 units back.
    second = shop.order(token, customer, price="3.33")
    live_server.request("POST", f"/api/orders/{second['id']}/pay/", token)
    line = second["items"][0]["id"]
    statuses = run_together(24, lambda i: live_server.request(
        "POST", f"/api/orders/{second['id']}/refunds/", admin_token,
        {"lines": [{"item": line, "quantity": 1}], "reason": "one unit"})[0])
    assert sorted(statuses) == [201] * 10 + [409] * 14
    assert payments_of_committed(second["id"]) == (Decimal("33.30"), Decimal("33.30"), 10)
    assert live_server.request("GET", f"/api/orders/{second['id']}/", token)[1]["status"] == "refunded"


def test_racing_confirmations_and_a_cancellation_leave_one_outcome(shop, live_server, run_together, concurrency,
                                                                  payments_of_committed, outbox_kinds):
    customer, token = shop.user("racer")
    for _round in range(3):
        order = shop.order(token, customer, quantity=1)
        paths = [f"/api/orders/{order['id']}/pay/"] * (concurrency - 1) + [f"/api/orders/{order['id']}/cancel/"]
        statuses = run_together(concurrency, lambda i: live_server.request("POST", paths[i], token)[0])
        pays, cancel = statuses[:-1], statuses[-1]
        final = live_server.request("GET", f"/api/orders/{order['id']}/", token)[1]["status"]
        kinds = outbox_kinds(order["id"])
        captured, refunded, _count = payments_of_committed(order["id"])
        if final == "paid":
            assert sorted(pays) == [200] + [409] * (concurrency - 2) and cancel == 409
            assert captured == Decimal("10.00") and kinds.count("mail.order_paid") == 1
            assert "mail.order_cancelled" not in kinds
        else:
            assert final == "cancelled" and cancel == 200 and set(pays) == {409}
            assert captured == Decimal("0.00") and "mail.order_paid" not in kinds
            assert kinds.count("mail.order_cancelled") == 1


@pytest.fixture
def payments_of_committed(shopcore_registry):
    from shopcore_payments.models import Payment, Refund

    def read(order_id: int):
        with request_context(shopcore_registry) as request:
            session = request.dbsession
            captured = session.scalar(select(func.coalesce(func.sum(Payment.captured_amount), 0))
                                      .where(Payment.order_id == order_id))
            refunded = session.scalar(select(func.coalesce(func.sum(Payment.refunded_amount), 0))
                                      .where(Payment.order_id == order_id))
            refunds = session.scalar(select(func.count()).select_from(Refund).where(Refund.order_id == order_id))
            return Decimal(captured).quantize(Decimal("0.01")), Decimal(refunded).quantize(Decimal("0.01")), refunds

    return read


@pytest.fixture
def outbox_kinds(shopcore_registry):
    from shopcore.messaging.models import OutboxMessage

    def read(order_id: int) -> list[str]:
        with request_context(shopcore_registry) as request:
            return [row.kind for row in request.dbsession.scalars(select(OutboxMessage))
                    if (row.payload.get("order") or {}).get("id") == order_id]

    return read


def test_an_order_expiring_in_the_worker_releases_its_open_payment(shop, live_server, shopcore_registry):
    import datetime

    from shopcore.clock import utcnow
    from shopcore_orders.expiry import expire_pending_orders
    from shopcore_payments.models import Payment

    customer, token = shop.user("sleepy")
    order = shop.order(token, customer, quantity=1)
    status, payment, _ = live_server.request("POST", f"/api/orders/{order['id']}/payments/", token,
                                             {"provider": "simulated"})
    assert status == 201, payment
    assert expire_pending_orders(shopcore_registry, now=utcnow() + datetime.timedelta(days=1)) == [order["id"]]
    assert shop.scalar(select(Payment.status).where(Payment.id == payment["id"])) == "voided"
    assert live_server.request("POST", f"/api/orders/{order['id']}/pay/", token)[0] == 409
