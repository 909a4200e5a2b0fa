"""Backups that restore: a `pg_dump` of a running shop, restored into a fresh database, serves that shop.

docs/operations.md tells operators how; these tests do what it says, with the shop serving requests
while the dump is taken: the database alone, and the database with the product pictures of the
file-system media storage copied after it (and what a restore without that copy leaves).
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import webtest
from sqlalchemy import create_engine, text

from shopcore.testing import make_test_configurator
from shopcore_catalog.testing import image_bytes

CHECKOUT = {"shipping_address": "1 Backup Lane", "payment_method": "credit_card"}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def shopcore_extra_settings(media_root):
    # The running shop's pictures in a folder of the test's own (the file-system media storage).
    return {"shopcore.catalog.media_root": str(media_root)}


def postgres_environment(url) -> dict:
    return {**os.environ, "PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432),
            "PGUSER": url.username or "postgres", "PGPASSWORD": url.password or ""}


def recreate_database(url, name: str) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def admin_client(wsgi_app, token: str) -> webtest.TestApp:
    return webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "127.0.0.1",
                                                    "HTTP_AUTHORIZATION": f"Bearer {token}"})


def dump_and_restore(url, tmp_path) -> str:
    """`pg_dump` the test database and `pg_restore` it into a fresh one, as docs/operations.md says; its name."""
    environment = postgres_environment(url)
    dump = tmp_path / "shop.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", url.database], env=environment, check=True)
    restored = f"{url.database}_restored"
    recreate_database(url, restored)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump)],
                   env=environment, check=True)
    return restored


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
    restored = dump_and_restore(url, tmp_path)
    try:
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


@pytest.mark.postgresql_only
def test_pictures_copied_after_the_dump_restore_with_it_and_a_restore_without_them_only_misses_files(
        wsgi_app, committed_db, shopcore_settings, shopcore_engine, make_committed_user, make_committed_product,
        token_for, media_root, tmp_path):
    admin = make_committed_user("picturer", is_admin=True)
    product = make_committed_product("Pictured lamp", price="12.50", stock=7)
    shop = admin_client(wsgi_app, token_for(admin)["access"])
    picture = image_bytes(size=(120, 80))
    image = shop.post(f"/api/products/{product}/images/", [("alt", "Lit")],
                      upload_files=[("file", "lamp.png", picture)], status=201).json

    url = shopcore_engine.url
    restored = dump_and_restore(url, tmp_path)  # the database first, then the pictures (docs/operations.md)
    backup = tmp_path / "media-backup"
    shutil.copytree(media_root, backup, dirs_exist_ok=True)  # what `rsync -a` (without --delete) copies
    # After the backup: a picture added and the first one deleted in the running shop.
    shop.post(f"/api/products/{product}/images/", upload_files=[("file", "later.png", image_bytes())], status=201)
    shop.delete(f"/api/images/{image['id']}/", status=204)
    assert not (media_root / image["url"].removeprefix("/media/")).exists()

    def restored_shop(media: str):
        settings = {**shopcore_settings, "shopcore.redis_url": "", "shopcore.catalog.media_root": media,
                    "sqlalchemy.url": url.set(database=restored).render_as_string(hide_password=False)}
        return make_test_configurator(settings)

    with_media = restored_shop(str(tmp_path / "media-restored"))
    without_media = restored_shop(str(tmp_path / "media-lost"))
    try:
        shutil.copytree(backup, tmp_path / "media-restored")  # the restore: the copy back in place
        app = webtest.TestApp(with_media.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        # The dump's pictures are all there: the row's and its thumbnail's files, byte for byte.
        [restored_image] = app.get(f"/api/products/{product}/").json["images"]
        assert restored_image == image
        assert app.get(image["url"], status=200).body == picture
        assert app.get(image["thumbnail_url"], status=200).content_type == "image/png"

        # The database restored without its pictures: the product lists a picture whose files are gone
        # (404), and deleting it, or the product, works.
        lost = admin_client(without_media.make_wsgi_app(), token_for(admin)["access"])
        assert lost.get(f"/api/products/{product}/").json["images"] == [image]
        lost.get(image["url"], status=404)
        lost.delete(f"/api/images/{image['id']}/", status=204)
        assert lost.get(f"/api/products/{product}/").json["images"] == []
    finally:
        for config in (with_media, without_media):
            config.registry["shopcore.engine"].dispose()
        drop_database(url, restored)
