"""Backups that restore: a `pg_dump` of a running shop, restored into a fresh database, serves that shop.

docs/operations.md tells operators how; this test does exactly what it says, with the shop serving
requests while the dump is taken.
"""
from __future__ import annotations

import os
import subprocess

import pytest
import webtest
from sqlalchemy import create_engine, text

from shopcore.testing import make_test_configurator

CHECKOUT = {"shipping_address": "1 Backup Lane", "payment_method": "credit_card"}
PASSWORD = "correct horse battery"


def postgres_environment(url) -> dict:
    return {**os.environ, "PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432),
            "PGUSER": url.username or "postgres", "PGPASSWORD": url.password or ""}


def recreate_database(url, name: str) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop_database(url, name: str) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgresql_only
def test_a_pg_dump_of_a_running_shop_restores_into_a_fresh_database_that_serves_it(
        live_server, shopcore_settings, shopcore_engine, make_committed_user, make_committed_product, token_for,
        tmp_path):
    user = make_committed_user("restorer", password=PASSWORD)
    product = make_committed_product("Backup lamp", price="12.50", stock=7)
    token = token_for(user)["access"]
    assert live_server.request("POST", "/api/cart/items/", token, {"product": product, "quantity": 2})[0] == 201
    status, order, _ = live_server.request("POST", "/api/orders/checkout/", token, CHECKOUT)
    assert status == 201

    url = shopcore_engine.url
    environment = postgres_environment(url)
    dump = tmp_path / "shop.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", url.database], env=environment, check=True)
    restored = f"{url.database}_restored"
    recreate_database(url, restored)
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump)],
                       env=environment, check=True)
        # A cache of its own, so nothing the running shop cached can answer for the restored one.
        settings = {**shopcore_settings, "shopcore.redis_url": "",
                    "sqlalchemy.url": url.set(database=restored).render_as_string(hide_password=False)}
        config = make_test_configurator(settings)
        try:
            app = webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
            login = app.post_json("/api/auth/login/", {"username": "restorer", "password": PASSWORD}).json
            headers = {"Authorization": f"Bearer {login['access']}"}
            restored_order = app.get(f"/api/orders/{order['id']}/", headers=headers).json
            assert restored_order["total_price"] == "25.00"
            assert [(item["product"], item["quantity"]) for item in restored_order["items"]] == [(product, 2)]
            assert app.get(f"/api/products/{product}/").json["stock"] == 5
            # The restored shop takes new orders: sequences came back with the data.
            app.post_json("/api/cart/items/", {"product": product, "quantity": 1}, headers=headers, status=201)
            again = app.post_json("/api/orders/checkout/", CHECKOUT, headers=headers, status=201).json
            assert again["id"] > order["id"]
        finally:
            config.registry["shopcore.engine"].dispose()
    finally:
        drop_database(url, restored)
