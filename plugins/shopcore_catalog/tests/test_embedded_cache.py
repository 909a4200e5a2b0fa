"""`make run`'s embedded defaults (SQLite, the in-process memory cache): an import run by
`shopcore-admin` in another process shows on the running server's next request.

The server's memory cannot be reached from the command's process; `shopcore.cache.shared_file`
(set in development.ini) carries the invalidation between them. Without it the server keeps
serving its cached page, which the second test shows (so the first one can fail).
"""
import os
import subprocess
import sys

import pytest
import webtest
from pyramid.paster import get_app

from shopcore.scripts.admin import main as shopcore_admin
from shopcore.settings import SETTINGS

CSV = "sku,product,price,stock\nLAMP-1,Imported lamp,12.00,3\n"


@pytest.fixture
def embedded_shop(tmp_path, monkeypatch):
    """`embedded_shop(shared_file: bool)`: (the server's TestApp, the ini path) on a SQLite file of its own."""
    for setting in SETTINGS:
        for variable in setting.env:
            monkeypatch.delenv(variable, raising=False)

    def make(shared_file: bool):
        ini = tmp_path / "development.ini"
        ini.write_text("\n".join([
            "[app:main]", "use = egg:shopcore", "shopcore.env = development",
            f"shopcore.secret_file = {tmp_path / 'secret'}",
            f"sqlalchemy.url = sqlite:///{tmp_path / 'shop.sqlite'}",
            "shopcore.plugins = catalog",
            f"shopcore.mail.dir = {tmp_path / 'mail'}",
            f"shopcore.catalog.media_root = {tmp_path / 'media'}",
            f"shopcore.cache.shared_file = {tmp_path / 'cache-generation' if shared_file else ''}", ""]))
        assert shopcore_admin([str(ini), "migrate"]) == 0
        return webtest.TestApp(get_app(str(ini))), ini

    return make


def import_in_another_process(ini, tmp_path) -> None:
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(CSV)
    environment = {name: value for name, value in os.environ.items()
                   if name not in {variable for setting in SETTINGS for variable in setting.env}}
    done = subprocess.run([sys.executable, "-m", "shopcore.scripts.admin", str(ini), "catalog-import",
                           str(csv_file), "--quiet"], env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 products created" in done.stdout


def names(app) -> list[str]:
    return [product["name"] for product in app.get("/api/products/").json["results"]]


def test_an_import_in_another_process_shows_on_the_next_request(embedded_shop, tmp_path):
    server, ini = embedded_shop(shared_file=True)
    assert names(server) == []  # now cached in the server's memory
    etag = server.get("/api/products/").headers["ETag"]
    assert server.get("/api/products/", headers={"If-None-Match": etag}, status=304)  # served from the cache
    import_in_another_process(ini, tmp_path)
    assert names(server) == ["Imported lamp"]


def test_without_the_shared_file_the_server_keeps_its_stale_page(embedded_shop, tmp_path):
    server, ini = embedded_shop(shared_file=False)
    assert names(server) == []
    import_in_another_process(ini, tmp_path)
    assert names(server) == []  # the memory cache never heard of the import
