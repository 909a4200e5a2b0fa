"""The database cut off for real, then back: a quick 503 JSON answer (never a hang), and recovery by itself.

PostgreSQL is reached through a TCP proxy the test controls, in front of the real server: the proxy
first refuses connections and cuts the open ones (the server is down), then accepts connections and
answers nothing (a hung host: only the short connect timeout ends the wait), then forwards again.
On the embedded SQLite database, the database file's folder goes away and comes back.
The app is a process of its own kind here: its own engine and pool, real commits.
"""
from __future__ import annotations

import json
import sqlite3
import time

import pytest
import webtest
from sqlalchemy.engine import make_url

from shopcore.testing import make_test_configurator

CONNECT_TIMEOUT = 1  # seconds (shopcore.db.connect_timeout); production's default is 5
QUICK = CONNECT_TIMEOUT + 2.5  # a refused or timed-out connection, the answer, and a busy machine


@pytest.fixture
def app_on(shopcore_settings):
    """`app_on(database_url)`: an app with its own engine and pool (nothing shared with the test's session)."""
    engines = []

    def make(database_url: str) -> webtest.TestApp:
        settings = {**shopcore_settings, "sqlalchemy.url": database_url,
                    "shopcore.db.connect_timeout": str(CONNECT_TIMEOUT)}
        config = make_test_configurator(settings)
        engines.append(config.registry["shopcore.engine"])
        return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    yield make
    for engine in engines:
        engine.dispose()


def assert_quick_503(app, method: str, url: str, body=None):
    started = time.monotonic()
    if body is None:
        response = app.request(url, method=method, expect_errors=True)
    else:
        response = app.request(url, method=method, expect_errors=True, body=json.dumps(body).encode(),
                               content_type="application/json")
    elapsed = time.monotonic() - started
    assert response.status_int == 503, response.text
    assert elapsed < QUICK, f"{method} {url} waited {elapsed:.2f} s for a database that is down"
    assert response.content_type == "application/json"
    assert response.json == {"detail": "The service is temporarily unavailable; try again shortly."}
    assert int(response.headers["Retry-After"]) >= 1
    return response


def calls_needing_the_database(round_: int):
    """Requests that cannot be answered without the database (unique query strings: no cache hit)."""
    return [
        ("GET", f"/api/products/?page_size={round_ + 1}", None),
        ("GET", f"/api/categories/{round_ + 1000}/", None),
        ("POST", "/api/auth/login/", {"username": f"nobody{round_}", "password": "not a real password"}),
    ]


def assert_serving(app, round_: int):
    assert app.get(f"/api/products/?page_size={round_ + 1}").status_int == 200
    assert app.get("/ready").json["checks"]["database"] == "ok"


def assert_down(app, round_: int):
    for method, url, body in calls_needing_the_database(round_):
        assert_quick_503(app, method, url, body)
    started = time.monotonic()
    ready = app.get("/ready", status=503)
    assert time.monotonic() - started < QUICK
    assert ready.json["checks"]["database"] == "down"


def wait_until_serving(app, round_: int, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while app.get(f"/api/products/?page_size={round_ + 1}", expect_errors=True).status_int != 200:
        assert time.monotonic() < deadline, f"the app did not recover within {timeout} s"
        time.sleep(0.2)
    assert_serving(app, round_)


@pytest.fixture
def database_kind(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


def test_a_database_that_goes_away_gets_quick_503s_and_the_app_recovers_by_itself(
        database_url, database_kind, shopcore_registry, app_on, tcp_proxy, tmp_path):
    if database_kind == "postgresql":
        url = make_url(database_url)
        proxy = tcp_proxy(url.host or "127.0.0.1", url.port or 5432)
        app = app_on(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        assert_serving(app, 0)  # the pool holds connections now

        proxy.refuse()  # down: open connections cut, new ones refused
        assert_down(app, 1)
        proxy.restore()
        wait_until_serving(app, 2)

        proxy.swallow()  # hung: connections accepted, never answered
        assert_down(app, 3)
        proxy.restore()
        wait_until_serving(app, 4)
    else:
        # The embedded database is a file: its folder goes away (a lost mount), then comes back.
        folder = tmp_path / "db"
        folder.mkdir()
        copy = folder / "shop.sqlite"
        source = sqlite3.connect(make_url(database_url).database)
        target = sqlite3.connect(copy)
        source.backup(target)
        source.close()
        target.close()
        app = app_on(f"sqlite:///{copy}")
        away = tmp_path / "db-away"

        folder.rename(away)
        assert_down(app, 1)
        away.rename(folder)
        wait_until_serving(app, 2)
