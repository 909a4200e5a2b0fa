"""Revocations hold through a Redis outage, on every process.

Two app instances (two web processes) reach Redis through a proxy the test cuts. A token revoked
before the outage, and one revoked during it (logging out keeps working), are refused by both
processes during the outage, after it, and after Redis comes back empty (a restart): the database
keeps the record and Redis is trusted again only once it holds all of it. The same holds for a
password change or a removed admin role, which move the user's generation in Redis
(`shopcore.accounts.identity`); and a change whose Redis write failed in its own process alone holds
everywhere once that process reaches Redis again.
"""
from __future__ import annotations

import time
from urllib.parse import urlparse

import redis

from shopcore.accounts.services import set_admin
from shopcore.testing import require_service, wait_until
from shopcore.testing.app import request_context

ME = "/api/auth/user/"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def redis_through_a_proxy(tcp_proxy):
    """A proxy in front of the test's Redis, and the settings of an app reaching Redis through it."""
    url = urlparse(require_service("SHOPCORE_TEST_REDIS_URL"))
    proxy = tcp_proxy(url.hostname, url.port or 6379)
    return proxy, {"shopcore.redis_url": f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}"}


def holds_after_the_outage_and_a_restart(check) -> None:
    """`check()` at every moment of the processes' pause and return to Redis, then once Redis is trusted
    again, and after Redis restarted empty."""
    deadline = time.monotonic() + 8  # through the processes' pause after the failure and their return to Redis
    while time.monotonic() < deadline:
        check()
        time.sleep(0.5)
    direct = redis.Redis.from_url(require_service("SHOPCORE_TEST_REDIS_URL"), socket_timeout=2)
    try:
        assert direct.exists("shopcore:revoked:complete"), "Redis was not trusted again after the outage"
        direct.flushdb()  # Redis restarted and came back empty
    finally:
        direct.close()
    check()


def test_a_token_revoked_before_or_during_an_outage_is_refused_on_every_process(tcp_proxy, make_app, shop):
    proxy, through_proxy = redis_through_a_proxy(tcp_proxy)
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
    holds_after_the_outage_and_a_restart(assert_refused_everywhere)


def test_a_password_change_or_a_removed_admin_role_during_an_outage_holds_on_every_process(tcp_proxy, make_app,
                                                                                            shop):
    """A user's generation cannot move while Redis is down: every check reads the database then, and
    Redis is trusted again only under a new epoch, which outdates every token's stamp."""
    proxy, through_proxy = redis_through_a_proxy(tcp_proxy)
    processes = [make_app(**through_proxy), make_app(**through_proxy)]
    first, second = processes
    changer, demoted = shop.user("changer"), shop.user("demoted", is_admin=True)
    category = {"name": "Lamps"}
    for process in processes:  # each has served both tokens, on their claims
        process.get(ME, headers=bearer(changer.access), status=200)
        process.post_json("/api/categories/", {"name": f"Before {id(process)}"}, headers=bearer(demoted.access),
                          status=201)

    proxy.refuse()
    first.post_json("/api/auth/password/change/", {"old_password": changer.password,
                                                   "new_password": "a brand new passphrase"},
                    headers=bearer(changer.access), status=204)
    with request_context(shop.registry) as request:  # another process (as shopcore-admin revoke-admin)
        set_admin(request, "demoted", False)

    def assert_held_everywhere() -> None:
        for process in processes:
            process.get(ME, headers=bearer(changer.access), status=401)
            process.post_json("/api/categories/", category, headers=bearer(demoted.access), status=403)
            assert process.get(ME, headers=bearer(demoted.access)).json["username"] == "demoted"

    assert_held_everywhere()
    proxy.restore()
    holds_after_the_outage_and_a_restart(assert_held_everywhere)


def test_a_change_whose_redis_write_failed_holds_everywhere_once_its_process_reaches_redis_again(
        tcp_proxy, make_app, shop):
    """The one window of the bound: Redis answers the other processes but failed the one that made the
    change. That process deletes the marker at its first use of Redis after its pause, and from then on
    every process reads the database."""
    proxy, through_proxy = redis_through_a_proxy(tcp_proxy)
    cut_off = make_app(**through_proxy)
    other = make_app()
    user = shop.user("window")
    for process in (cut_off, other):
        process.get(ME, headers=bearer(user.access), status=200)

    proxy.refuse()
    cut_off.post_json("/api/auth/password/change/", {"old_password": user.password,
                                                     "new_password": "a brand new passphrase"},
                      headers=bearer(user.access), status=204)
    cut_off.get(ME, headers=bearer(user.access), status=401)
    proxy.restore()

    def refused_by_the_other() -> bool:
        cut_off.get("/health")  # the changing process goes on serving requests
        cut_off.get(ME, headers=bearer(user.access), status=401)
        return other.get(ME, headers=bearer(user.access), expect_errors=True).status_int == 401

    # Its pause after the failure is 5 s; a loaded machine adds its own delays.
    wait_until(refused_by_the_other, timeout=30, interval=0.2, what="the other process to refuse the token")


def test_a_failed_read_alone_leaves_redis_trusted_and_the_tokens_standing_on_their_claims(
        tcp_proxy, make_app, shop, count_queries):
    """A Redis blip on a check loses no write: once Redis answers again the marker and its epoch are
    the same, so the tokens issued before stand on their claims again, with no query."""
    proxy, through_proxy = redis_through_a_proxy(tcp_proxy)
    process = make_app(**through_proxy)
    user = shop.user("blip")
    direct = redis.Redis.from_url(require_service("SHOPCORE_TEST_REDIS_URL"), socket_timeout=2)
    try:
        def queries_of_a_cached_request() -> list[str]:
            process.get("/api/orders/", headers=bearer(user.access), status=200)  # caches the page
            with count_queries() as statements:
                process.get("/api/orders/", headers=bearer(user.access), status=200)
            return statements

        assert queries_of_a_cached_request() == []
        epoch = direct.get("shopcore:revoked:complete")
        proxy.refuse()
        process.get("/api/orders/", headers=bearer(user.access), status=200)  # the database answers
        proxy.restore()
        wait_until(lambda: queries_of_a_cached_request() == [], timeout=30, interval=0.5,
                   what="the token to stand on its claims again")
        assert direct.get("shopcore:revoked:complete") == epoch
    finally:
        direct.close()
