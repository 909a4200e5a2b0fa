"""Redis cut off for real (a proxy in front of it refuses, or swallows, every connection), then back.

The catalog is read from the database, logins still work (rate limiting lets them through and says
so in the log), tokens are still checked, `/ready` names the cache as down, and nothing waits long.
`tests/test_cache.py` proves the same against a closed port for the cache module alone.
"""
from __future__ import annotations

import logging
import time
from urllib.parse import urlparse

import pytest
import redis

from shopcore.testing import require_service

QUICK = 3.0  # seconds any request may take while Redis is away


@pytest.fixture
def redis_behind_proxy(tcp_proxy, make_app):
    """(proxy, app): an app whose Redis (cache, revocations, rate limits) is reached through the proxy."""
    url = urlparse(require_service("SHOPCORE_TEST_REDIS_URL"))
    proxy = tcp_proxy(url.hostname, url.port or 6379)
    app = make_app(**{"shopcore.redis_url": f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}",
                      "shopcore.cache.backend": "dogpile.cache.redis"})
    return proxy, app


def within(seconds: float, call):
    started = time.monotonic()
    response = call()
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    return response


@pytest.mark.parametrize("outage", ["refuse", "swallow"])
def test_with_redis_away_the_shop_still_serves_and_says_the_cache_is_down(
        redis_behind_proxy, shop, caplog, outage):
    proxy, app = redis_behind_proxy
    admin = shop.user("cacheadmin", is_admin=True)
    customer = shop.user("cachecustomer")
    product = shop.product(name="Desk lamp", price="12.50")
    headers = {"Authorization": f"Bearer {admin.access}"}
    # Redis up: the detail and a list page are cached.
    assert app.get(f"/api/products/{product}/").json["price"] == "12.50"
    assert app.get("/api/products/").json["count"] == 1
    assert app.get("/ready").json["checks"]["cache"] == "ok"

    getattr(proxy, outage)()
    with caplog.at_level(logging.WARNING):
        detail = within(QUICK, lambda: app.get(f"/api/products/{product}/"))
        assert detail.json["name"] == "Desk lamp"
        assert within(QUICK, lambda: app.get("/api/products/?search=lamp")).json["count"] == 1
        # A write goes through and the next read shows it (from the database).
        within(QUICK, lambda: app.patch_json(f"/api/products/{product}/", {"price": "15.00"}, headers=headers))
        assert within(QUICK, lambda: app.get(f"/api/products/{product}/")).json["price"] == "15.00"
        # Logins work; the rate limit is not counted and the log says so.
        login = within(QUICK, lambda: app.post_json("/api/auth/login/", {"username": customer.username,
                                                                          "password": customer.password}))
        token = login.json["access"]
        me = within(QUICK, lambda: app.get("/api/auth/user/", headers={"Authorization": f"Bearer {token}"}))
        assert me.json["username"] == customer.username
        ready = within(QUICK, lambda: app.get("/ready", status=503))
    assert ready.json == {"status": "unavailable", "checks": {"database": "ok", "cache": "down", "broker": "ok"}}
    messages = [record.getMessage() for record in caplog.records]
    assert any("rate limit login_ip not counted (allowing)" in message for message in messages), messages
    assert any(message.startswith("cache ") and "serving without cache" in message for message in messages)

    proxy.restore()
    deadline = time.monotonic() + 15
    while app.get("/ready", expect_errors=True).status_int != 200:
        assert time.monotonic() < deadline, "the app did not see Redis back within 15 s"
        time.sleep(0.2)
    # Back, and once the app uses the cache again (it rests a failed backend a few seconds), reads
    # answer the price written while Redis was away, never the one cached before the outage.
    direct = redis.Redis.from_url(require_service("SHOPCORE_TEST_REDIS_URL"), socket_timeout=2)
    cached_before = set(direct.keys())
    deadline = time.monotonic() + 15
    for size in range(1, 1000):
        app.get(f"/api/categories/?page_size={size}")  # a page not cached yet
        if set(direct.keys()) - cached_before:
            break
        assert time.monotonic() < deadline, "the app did not use the cache again within 15 s"
        time.sleep(0.2)
    direct.close()
    assert app.get(f"/api/products/{product}/").json["price"] == "15.00"
    assert app.get("/api/products/").json["results"][0]["price"] == "15.00"
