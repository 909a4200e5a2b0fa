"""Cache: generation keys invalidate whole collections; a dead Redis degrades to no cache, not errors."""
import logging

import pytest
from dogpile.cache.api import NO_VALUE

from shopcore.cache import CacheNamespace, make_cache_region
from shopcore.settings import load_settings
from shopcore.testing import require_service


def region_for(redis_url: str | None, ttl: int = 600):
    raw = {"sqlalchemy.url": "sqlite://", "shopcore.secret": "x" * 40, "shopcore.cache.ttl": str(ttl)}
    if redis_url:
        raw["shopcore.redis_url"] = redis_url
    return make_cache_region(load_settings(raw, {}))


@pytest.fixture(params=["memory", "redis"])
def namespace(request):
    if request.param == "memory":
        return CacheNamespace(region_for(None), "test")
    url = require_service("SHOPCORE_TEST_REDIS_URL")
    import redis

    redis.Redis.from_url(url).flushdb()
    return CacheNamespace(region_for(url), "test")


def test_one_invalidation_drops_every_page_of_a_collection(namespace):
    pages = {page: namespace.key("products", "list", f"page={page}") for page in (1, 2, 3)}
    for page, key in pages.items():
        namespace.set(key, f"body {page}")
    detail = namespace.key("categories", "detail", 1)
    namespace.set(detail, "category 1")
    assert [namespace.get(k) for k in pages.values()] == ["body 1", "body 2", "body 3"]

    namespace.invalidate("products")

    new_keys = [namespace.key("products", "list", f"page={page}") for page in (1, 2, 3)]
    assert {key.generation for key in new_keys}.isdisjoint(key.generation for key in pages.values())
    assert [namespace.get(k) for k in new_keys] == [None, None, None]
    # Another collection is untouched.
    assert namespace.get(namespace.key("categories", "detail", 1)) == "category 1"


def test_key_over_several_collections_is_invalidated_by_either(namespace):
    key = namespace.key(["products", "categories"], "list")
    namespace.set(key, "joined")
    namespace.invalidate("categories")
    assert namespace.get(namespace.key(["products", "categories"], "list")) is None


def test_an_entry_built_before_an_invalidation_is_never_served_after_it(namespace):
    """A request read the generation, another committed a write meanwhile: what the first one stores is stale."""
    before = namespace.key("products", "list", "page=1")
    namespace.invalidate("products")
    namespace.set(before, "built from the old data")
    assert namespace.get(namespace.key("products", "list", "page=1")) is None
    fresh = namespace.key("products", "list", "page=1")
    namespace.set(fresh, "new")
    assert namespace.get(namespace.key("products", "list", "page=1")) == "new"


def test_a_hit_is_one_round_trip(namespace):
    key = namespace.key(["products", "categories"], "list")
    namespace.set(key, "page")
    calls = []
    backend = namespace.region.backend
    for name in ("get", "get_multi", "get_serialized", "get_serialized_multi"):
        original = getattr(backend, name)
        setattr(backend, name, lambda arg, original=original, name=name: calls.append(name) or original(arg))
    try:
        assert namespace.get(namespace.key(["products", "categories"], "list")) == "page"
    finally:
        for name in ("get", "get_multi", "get_serialized", "get_serialized_multi"):
            delattr(backend, name)
    assert len(calls) == 1


def test_invalidating_several_collections_is_one_write(namespace):
    keys = {name: namespace.key(name, "list") for name in ("products", "categories", "product:1")}
    for key in keys.values():
        namespace.set(key, "page")
    calls = []
    backend = namespace.region.backend
    names = ("set", "set_multi", "set_serialized", "set_serialized_multi")
    for name in names:
        original = getattr(backend, name)
        setattr(backend, name, lambda *args, original=original, name=name: calls.append(name) or original(*args))
    try:
        namespace.invalidate("products", "categories", "product:1")
    finally:
        for name in names:
            delattr(backend, name)
    assert len(calls) == 1
    assert all(namespace.get(namespace.key(name, "list")) is None for name in keys)


class RequestWithTransaction:
    def __init__(self):
        import transaction

        self.tm = transaction.TransactionManager(explicit=True)


def test_a_transaction_bumps_its_invalidations_once_after_commit_and_none_after_abort(namespace):
    other = CacheNamespace(namespace.region, "other")
    writes = []
    backend = namespace.region.backend
    names = ("set", "set_multi", "set_serialized", "set_serialized_multi")
    for name in names:
        original = getattr(backend, name)
        setattr(backend, name, lambda *args, original=original: writes.append(args[0]) or original(*args))
    try:
        for outcome in ("commit", "abort"):
            request = RequestWithTransaction()
            request.tm.begin()
            namespace.invalidate_after_commit(request, "products", "product:1")
            other.invalidate_after_commit(request, "user:7")
            before = namespace.key("products", "list")
            namespace.set(before, "built before the commit")
            del writes[:]
            getattr(request.tm, outcome)()
            if outcome == "commit":
                # Both namespaces' generations in one write, and the page built meanwhile is stale.
                assert [sorted(write) for write in writes] == [
                    ["other:gen:user:7", "test:gen:product:1", "test:gen:products"]]
                assert namespace.get(namespace.key("products", "list")) is None
            else:
                assert writes == []
    finally:
        for name in names:
            delattr(backend, name)


def test_get_or_create_calls_the_creator_once(namespace):
    calls = []
    key = namespace.key("products", "detail", 7)
    for _ in range(3):
        assert namespace.get_or_create(key, lambda: calls.append(1) or "made") == "made"
    assert len(calls) == 1


def test_generations_are_shared_between_processes_through_redis():
    url = require_service("SHOPCORE_TEST_REDIS_URL")
    first, second = CacheNamespace(region_for(url), "shared"), CacheNamespace(region_for(url), "shared")
    key = first.key("products", "detail", 1)
    first.set(key, "old price")
    assert second.get(second.key("products", "detail", 1)) == "old price"
    second.invalidate("products")
    assert first.get(first.key("products", "detail", 1)) is None


def test_dead_redis_turns_into_misses_and_logs(caplog):
    dead = CacheNamespace(region_for("redis://127.0.0.1:1/0"), "dead")
    with caplog.at_level(logging.WARNING, logger="shopcore.cache"):
        key = dead.key("products", "list")
        dead.set(key, "value")
        assert dead.get(key) is None
        assert dead.get_or_create(key, lambda: "from database") == "from database"
        dead.invalidate("products")
    assert any("serving without cache" in record.getMessage() for record in caplog.records)


def test_app_with_dead_redis_still_answers(shopcore_settings, shopcore_registry, db_connection):
    import webtest

    from shopcore.testing import make_test_configurator

    settings = {**shopcore_settings, "shopcore.redis_url": "redis://127.0.0.1:1/0",
                "shopcore.cache.backend": "dogpile.cache.redis"}
    config = make_test_configurator(settings, **{
        "shopcore.engine": shopcore_registry["shopcore.engine"],
        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
    app = webtest.TestApp(config.make_wsgi_app())
    assert app.get("/health").json == {"status": "ok"}
    ready = app.get("/ready", status=503).json
    assert ready["checks"]["cache"] == "down" and ready["checks"]["database"] == "ok"
    assert ready["status"] == "unavailable"


def test_failed_backend_rests_before_being_tried_again(caplog, monkeypatch):
    from shopcore import cache

    dead = CacheNamespace(region_for("redis://127.0.0.1:1/0"), "dead")
    with caplog.at_level(logging.WARNING, logger="shopcore.cache"):
        for _ in range(20):
            dead.get("k")
    assert len([r for r in caplog.records if "serving without cache" in r.getMessage()]) == 1
    clock = [cache.time.monotonic() + 6]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger="shopcore.cache"):
        dead.get("k")
    assert len([r for r in caplog.records if "serving without cache" in r.getMessage()]) == 2


@pytest.mark.parametrize("backend", ["shopcore.cache.memory", "dogpile.cache.memory"])
def test_the_memory_cache_keeps_at_most_max_entries_the_least_recently_used_going_first(backend):
    settings = load_settings({"sqlalchemy.url": "sqlite://", "shopcore.secret": "x" * 40,
                              "shopcore.cache.backend": backend, "shopcore.cache.max_entries": "3"}, {})
    region = make_cache_region(settings)
    for number in range(3):
        region.set(f"key{number}", number)
    assert region.get("key0") == 0  # read: now the most recently used
    for number in range(3, 1500):
        region.set(f"key{number}", number)
        region.get("key0")
    assert len(region.actual_backend) == 3
    assert region.get("key0") == 0 and region.get("key1") is NO_VALUE and region.get("key1499") == 1499
