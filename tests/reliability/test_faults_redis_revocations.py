"""Revocations hold through a Redis outage, on every process.

Two app instances (two web processes) reach Redis through a proxy the test cuts. A token revoked
before the outage, and one revoked during it (logging out keeps working), are refused by both
processes during the outage, after it, and after Redis comes back empty (a restart): the database
keeps the record and Redis is trusted again only once it holds all of it.
"""
from __future__ import annotations

import time
from urllib.parse import urlparse

import redis

from shopcore.testing import require_service

ME = "/api/auth/user/"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_revoked_before_or_during_an_outage_is_refused_on_every_process(tcp_proxy, make_app, shop):
    url = urlparse(require_service("SHOPCORE_TEST_REDIS_URL"))
    proxy = tcp_proxy(url.hostname, url.port or 6379)
    through_proxy = {"shopcore.redis_url": f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}"}
    processes = [make_app(**through_proxy), make_app(**through_proxy)]
    first, second = processes
    before, during, kept = shop.user("before"), shop.user("during"), shop.user("kept")

    def assert_refused_everywhere() -> None:
        for process in processes:
            process.get(ME, headers=bearer(before.access), status=401)
            process.get(ME, headers=bearer(during.access), status=401)
            assert process.get(ME, headers=bearer(kept.access)).json["username"] == "kept"

    first.post_json("/api/auth/logout/", {"refresh": before.refresh}, headers=bearer(before.access), status=204)
    second.get(ME, headers=bearer(before.access), status=401)

    proxy.refuse()  # Redis is down for both processes
    for process in processes:
        process.get(ME, headers=bearer(before.access), status=401)
    first.post_json("/api/auth/logout/", {"refresh": during.refresh}, headers=bearer(during.access), status=204)
    assert_refused_everywhere()
    second.post_json("/api/auth/refresh/", {"refresh": during.refresh}, status=401)

    proxy.restore()
    # Through the processes' pause after the failure and their return to Redis: refused at every moment.
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        assert_refused_everywhere()
        time.sleep(0.5)
    direct = redis.Redis.from_url(require_service("SHOPCORE_TEST_REDIS_URL"), socket_timeout=2)
    try:
        assert direct.exists("shopcore:revoked:complete"), "Redis was not trusted again after the outage"
        direct.flushdb()  # Redis restarted and came back empty
    finally:
        direct.close()
    assert_refused_everywhere()
