"""Issue 20, point 4: a customer's personal data, exported whole and erased for good.

`GET /api/auth/user/export/` gathers the core's part and every plugin's (cart, orders, coupon uses)
through the `accounts.personal_data_export` point; `DELETE /api/auth/user/` (with the password) runs
`accounts.personal_data_erasure` and anonymises the account. Afterwards no table holds the person's
e-mail addresses, name, username or postal address, yet their orders are still there for the accounts.

Every test runs twice: with the seed's plugins and coupons, and with every installed plugin, where the
person also has payments, a return asked for in words naming them (one approved, so its refund repeats
them, one waiting) and deliveries of their orders' events to a webhook receiver in the log, and the
shipping and tax plugins' tables are scanned too.
"""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from shopcore.accounts.models import User
from shopcore.audit.models import AuditEntry
from shopcore.extensions import extensions
from shopcore.messaging.models import OutboxMessage
from shopcore.plugins import discover

PASSWORD = "correct horse battery"
PERSON = {"username": "quintessa", "email": "Quintessa.Vandermolen@example.org", "password": PASSWORD,
          "first_name": "Quintessa", "last_name": "Vandermolen"}
NEW_EMAIL = "q.vandermolen.new@example.net"
ADDRESS = "77 Zebra Crossing, Smalltown"
# What must be nowhere once the person is erased (compared case-insensitively).
NEEDLES = ("quintessa", "vandermolen", "zebra crossing", "smalltown", "example.org", NEW_EMAIL, "yellowhammer",
           "4930901820")
BOOK_ENTRY = {"name": "Quintessa Vandermolen", "line1": "9 Yellowhammer Lane", "city": "Smalltown",
              "postal_code": "10557", "country": "DE", "phone": "+49 30 901820"}
# A return's reason is the customer's own words: they may name themselves, their street, their phone.
RETURN_REASON = "Quintessa Vandermolen here (9 Yellowhammer Lane): the lamp came broken, call +4930901820"
SEED_PLUGINS = ["catalog", "cart", "orders", "notifications", "coupons"]


@pytest.fixture(scope="module", params=["seed", "every plugin"])
def shopcore_plugins(request):
    return SEED_PLUGINS if request.param == "seed" else sorted(discover())


@pytest.fixture(scope="module")
def shopcore_extra_settings(shopcore_plugins):
    # The seed's text address is taxed at this country's rates (it has none here).
    return {"shopcore.tax.default_country": "DE"} if "tax" in shopcore_plugins else {}


@pytest.fixture
def enabled(shopcore_registry) -> set[str]:
    return {manifest.name for manifest in shopcore_registry["shopcore.plugins"]}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def person(testapp, admin_app, make_product, enabled):
    """A customer with a bit of everything: orders (one paid and shipped), a cart, a coupon, an e-mail
    change waiting for its confirmation, a reset request, known login addresses; their tokens. With the
    payments plugin, the shipped order is delivered and two returns of it asked for with words naming
    them (one approved, so refunded); with the apps plugin, a subscription to every event logs
    deliveries of their orders' events."""
    if "shipping" in enabled:
        zone = admin_app.post_json("/api/shipping/zones/", {"name": "Home", "countries": ["DE"]}, status=201).json
        admin_app.post_json("/api/shipping/methods/", {"zone": zone["id"], "name": "Standard", "rule": "flat",
                                                       "price": "0.00", "is_default": True}, status=201)
    if "apps" in enabled:
        admin_app.post_json("/api/webhooks/", {"url": "https://erp.example.com/hooks", "events": ["*"]}, status=201)
    testapp.post_json("/api/auth/register/", PERSON, status=201)
    tokens = testapp.post_json("/api/auth/login/", {"username": "quintessa", "password": PASSWORD},
                               status=200).json
    headers = bearer(tokens["access"])
    admin_app.post_json("/api/coupons/", {"code": "WELCOME5", "kind": "fixed", "value": "5.00"}, status=201)
    lamp, desk = make_product("Lamp", "30.00", stock=10), make_product("Desk", "120.00", stock=10)
    testapp.post_json("/api/cart/items/", {"product": lamp, "quantity": 2}, headers=headers, status=201)
    testapp.post_json("/api/cart/coupon/", {"code": "WELCOME5"}, headers=headers, status=200)
    first = testapp.post_json("/api/orders/checkout/", {"shipping_address": ADDRESS, "payment_method": "card"},
                              headers={**headers, "Idempotency-Key": "first-order"}, status=201).json
    testapp.post_json(f"/api/orders/{first['id']}/pay/", {}, headers=headers, status=200)
    admin_app.patch_json(f"/api/orders/{first['id']}/status/", {"status": "shipped"}, status=200)
    if "payments" in enabled:
        admin_app.patch_json(f"/api/orders/{first['id']}/status/", {"status": "delivered"}, status=200)
        [line] = testapp.get(f"/api/orders/{first['id']}/", headers=headers).json["items"]
        returns = [testapp.post_json(f"/api/orders/{first['id']}/returns/", {
            "lines": [{"item": line["id"], "quantity": 1}], "reason": RETURN_REASON}, headers=headers,
            status=201).json for _ in range(2)]
        admin_app.post_json(f"/api/returns/{returns[0]['id']}/approve/", {}, status=200)
    testapp.post_json("/api/cart/items/", {"product": desk, "quantity": 1}, headers=headers, status=201)
    # The second order ships to an address-book entry: the order keeps a structured copy of it.
    book_entry = testapp.post_json("/api/auth/user/addresses/", BOOK_ENTRY, headers=headers, status=201).json
    second = testapp.post_json("/api/orders/checkout/", {"shipping_address_id": book_entry["id"],
                                                         "billing_address": {**BOOK_ENTRY, "line1": "1 Zebra Crossing"},
                                                         "payment_method": "card"},
                               headers=headers, status=201).json
    testapp.post_json("/api/cart/items/", {"product": lamp, "quantity": 1}, headers=headers, status=201)
    testapp.patch_json("/api/auth/user/", {"email": NEW_EMAIL, "current_password": PASSWORD}, headers=headers,
                       status=200)
    testapp.post_json("/api/auth/password/reset/", {"email": PERSON["email"]}, status=200)
    return {"tokens": tokens, "headers": headers, "orders": [first["id"], second["id"]], "products": [lamp, desk]}


def test_the_export_holds_everything_the_shop_keeps_about_the_customer(testapp, person, enabled):
    body = testapp.get("/api/auth/user/export/", headers=person["headers"], status=200).json
    sections = body["sections"]
    assert sections["account"]["email"] == PERSON["email"]
    assert (sections["account"]["first_name"], sections["account"]["last_name"]) == ("Quintessa", "Vandermolen")
    assert [change["new_email"] for change in sections["email_changes"]] == [NEW_EMAIL]
    assert len(sections["password_resets"]) == 1
    assert len(sections["login_addresses"]) == 1
    # Mails carrying one-use links keep no payload once sent (nothing of them is left to name the person).
    returned = {"mail.return_requested", "mail.order_refunded"} if "payments" in enabled else set()
    assert {mail["kind"] for mail in sections["mails"]} == {
        "mail.welcome", "mail.order_placed", "mail.order_paid", "mail.order_shipped", "accounts.password_reset",
        *returned}
    assert all(set(mail) == {"kind", "status", "created_at"} for mail in sections["mails"])  # no links, no tokens
    assert [order["id"] for order in sections["orders"]] == person["orders"]
    assert sections["orders"][0]["shipping_address"] == ADDRESS
    assert sections["orders"][1]["shipping_address_details"]["line1"] == BOOK_ENTRY["line1"]
    assert sections["orders"][1]["billing_address"]["line1"] == "1 Zebra Crossing"
    assert [entry["line1"] for entry in sections["addresses"]] == [BOOK_ENTRY["line1"]]
    assert [(line["product_id"], line["quantity"]) for line in sections["cart"]] == [(person["products"][0], 1)]
    assert [use["code"] for use in sections["coupon_uses"]] == ["WELCOME5"]
    assert sections["coupon_uses"][0]["order_id"] == person["orders"][0]
    assert sections["coupon_uses"][0]["discount"] == "5.00"
    # The audit entry of the admin's action on their order is not about them; none names the account.
    assert sections["audit_entries"] == []
    if "payments" in enabled:
        assert [(payment["order"], payment["status"]) for payment in sections["payments"]] == [
            (person["orders"][0], "partially_refunded")]
        assert all("client_secret" not in payment for payment in sections["payments"])
        assert [(item["status"], item["reason"]) for item in sections["returns"]] == [
            ("approved", RETURN_REASON), ("requested", RETURN_REASON)]
        approved = sections["returns"][0]
        assert [(refund["return"], refund["amount"]) for refund in sections["refunds"]] == [
            (approved["id"], approved["amount"])]
    if "apps" in enabled:
        # Which of their events went where: the receiver's host (its URL may hold the receiver's token).
        deliveries = sections["webhook_deliveries"]
        assert {delivery["receiver"] for delivery in deliveries} == {"erp.example.com"}
        assert [delivery["event"] for delivery in deliveries].count("order.created") == 2


def test_the_export_needs_a_login(testapp):
    testapp.get("/api/auth/user/export/", status=401)


def test_erasure_needs_the_password(testapp, person):
    response = testapp.delete_json("/api/auth/user/", {"password": "not my password"}, headers=person["headers"],
                                   status=400)
    assert response.json["errors"][0]["field"] == "password"
    testapp.delete_json("/api/auth/user/", {}, headers=person["headers"], status=400)
    testapp.get("/api/auth/user/", headers=person["headers"], status=200)


def scan_every_table(connection) -> dict[str, list[str]]:
    """{table: [needles found]} over every column of every row of every table."""
    found: dict[str, list[str]] = {}
    for table in inspect(connection).get_table_names():
        rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
        blob = "\n".join(repr(tuple(row)) for row in rows).lower()
        hits = [needle for needle in NEEDLES if needle.lower() in blob]
        if hits:
            found[table] = hits
    return found


def test_after_erasure_no_table_holds_the_person_and_the_orders_are_kept(testapp, admin_app, person, db_connection,
                                                                         enabled):
    before = scan_every_table(db_connection)
    # The scan sees them before: the test can fail.
    assert {"core_users", "orders_orders", "core_email_changes", "core_outbox", "core_addresses"} <= set(before), before
    if "payments" in enabled:
        assert {"payments_returns", "payments_refunds"} <= set(before), before
    if "apps" in enabled:
        assert "apps_webhook_deliveries" in before, before

    testapp.delete_json("/api/auth/user/", {"password": PASSWORD}, headers=person["headers"], status=204)

    assert scan_every_table(db_connection) == {}
    # Tokens revoked, login impossible, under any spelling.
    testapp.get("/api/auth/user/", headers=person["headers"], status=401)
    testapp.post_json("/api/auth/refresh/", {"refresh": person["tokens"]["refresh"]}, status=401)
    testapp.post_json("/api/auth/login/", {"username": "quintessa", "password": PASSWORD}, status=401)
    # The orders stay for the accounts: totals, lines, status, the (anonymised) customer's id.
    first = admin_app.get(f"/api/orders/{person['orders'][0]}/", status=200).json
    status = "partially_refunded" if "payments" in enabled else "shipped"
    assert (first["status"], first["total_price"], first["shipping_address"]) == (status, "55.00", "")
    assert [(item["product"], item["quantity"]) for item in first["items"]] == [(person["products"][0], 2)]
    user = db_connection.execute(select(User.username, User.email, User.is_active).where(User.id == first["user"]))
    assert user.one() == (f"erased:{first['user']}", f"erased-{first['user']}@erased.invalid", False)
    if "payments" in enabled:
        # The returns and their refund stay for the accounts, without the words that named the person.
        assert [(item["status"], item["reason"], item["amount"]) for item in first["returns"]] == [
            ("approved", "", "27.50"), ("requested", "", "27.50")]  # a lamp, less its share of the coupon
        assert [(refund["amount"], refund["reason"]) for refund in first["refunds"]] == [("27.50", "")]
    # The address and e-mail cannot be registered again by anyone else as a way back in.
    testapp.post_json("/api/auth/register/", {**PERSON, "username": f"erased:{first['user']}"}, status=400)
    # The erasure is in the audit log, naming only the account's id.
    entry = db_connection.execute(select(AuditEntry.actor_id, AuditEntry.object_id)
                                  .where(AuditEntry.action == "accounts.user.erase")).one()
    assert entry == (first["user"], str(first["user"]))


def test_pending_and_sent_mails_to_the_person_are_cancelled_and_emptied(testapp, person, db_connection):
    rows = db_connection.execute(select(OutboxMessage.kind, OutboxMessage.payload)).all()
    assert any("quintessa" in str(payload).lower() for _, payload in rows)
    testapp.delete_json("/api/auth/user/", {"password": PASSWORD}, headers=person["headers"], status=204)
    for _, payload in db_connection.execute(select(OutboxMessage.kind, OutboxMessage.payload)).all():
        assert "quintessa" not in str(payload).lower() and "vandermolen" not in str(payload).lower()


def test_another_customers_data_is_untouched(testapp, person, make_user, make_order, db_connection):
    other = make_user("bystander", email="bystander@example.com")
    order = make_order(other, shipping_address="1 Other Street")
    testapp.delete_json("/api/auth/user/", {"password": PASSWORD}, headers=person["headers"], status=204)
    assert db_connection.execute(select(User.email).where(User.id == other)).scalar() == "bystander@example.com"
    assert db_connection.execute(text("SELECT shipping_address FROM orders_orders WHERE id = :id"),
                                 {"id": order["id"]}).scalar() == "1 Other Street"
    assert "bystander@example.com" in str(db_connection.execute(select(OutboxMessage.payload)).all())


def test_every_plugin_that_exports_also_erases(shopcore_registry, enabled):
    exporting = {extension.owner for extension in extensions(shopcore_registry, "accounts.personal_data_export")}
    erasing = {extension.owner for extension in extensions(shopcore_registry, "accounts.personal_data_erasure")}
    # Shipping and tax keep nothing about a person (zones, methods, weights, classes, rates): the scan above
    # runs over their tables too.
    assert exporting == erasing == {"cart", "orders", "coupons"} | ({"payments", "apps"} & enabled)


def test_a_failing_part_stops_the_erasure_whole(testapp, person, register_extension, db_connection):
    def broken(request, user_id):
        raise RuntimeError("the address book is down")

    register_extension("accounts.personal_data_erasure", broken, order=100)
    response = testapp.delete_json("/api/auth/user/", {"password": PASSWORD}, headers=person["headers"],
                                   status=503)
    assert response.json["detail"] == "Erasing personal data is temporarily unavailable; try again shortly."
    assert "quintessa" in scan_every_table(db_connection).get("core_users", [])
    testapp.get("/api/auth/user/", headers=person["headers"], status=200)
