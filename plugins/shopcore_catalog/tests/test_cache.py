"""The rendered-body cache: hits without queries, ETags and 304s, and invalidation after every kind of write."""
import pytest
from sqlalchemy.orm import sessionmaker

from shopcore_catalog.api import PRODUCT_REFERENCED
from shopcore.testing import make_test_configurator, request_context, require_service
from shopcore_catalog.api import CatalogService


def test_a_list_page_hit_makes_no_query_and_serves_the_same_bytes(make_product, testapp, sql_statements):
    make_product("Lamp", price="20.00")
    first = testapp.get("/api/products/?ordering=price")
    assert sql_statements, "the first request reads the database"
    sql_statements.clear()
    again = testapp.get("/api/products/?ordering=price&page=1")  # page 1 is the default: the same entry
    assert sql_statements == []
    assert again.body == first.body
    assert again.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize("path", ["/api/products/{product}/", "/api/categories/", "/api/categories/{category}/"])
def test_detail_and_category_hits_make_no_query(make_product, make_category, testapp, sql_statements, path):
    category = make_category("Lighting")
    url = path.format(product=make_product("Lamp", category=category), category=category)
    first = testapp.get(url)
    sql_statements.clear()
    assert testapp.get(url).body == first.body
    assert sql_statements == []


def test_every_parameter_that_changes_the_answer_is_in_the_key(make_product, testapp):
    make_product("Cheap lamp", price="5.00", stock=0)
    make_product("Dear lamp", price="500.00", stock=3)
    variants = {
        "/api/products/": ["Cheap lamp", "Dear lamp"],
        "/api/products/?ordering=-price": ["Dear lamp", "Cheap lamp"],
        "/api/products/?in_stock=true": ["Dear lamp"],
        "/api/products/?in_stock=false": ["Cheap lamp"],
        "/api/products/?max_price=10": ["Cheap lamp"],
        "/api/products/?search=dear": ["Dear lamp"],
        "/api/products/?page_size=1": ["Cheap lamp"],
        "/api/products/?page_size=1&page=2": ["Dear lamp"],
    }
    for _round in range(2):  # the second round is served from the cache
        for url, expected in variants.items():
            assert [p["name"] for p in testapp.get(url).json["results"]] == expected, url


def test_etag_and_if_none_match(make_product, testapp, admin_app):
    product = make_product("Lamp", price="20.00")
    for url in ("/api/products/", f"/api/products/{product}/"):
        first = testapp.get(url)
        etag = first.headers["ETag"]
        not_modified = testapp.get(url, headers={"If-None-Match": etag}, status=304)
        assert not_modified.body == b""
        assert not_modified.headers["ETag"] == etag
        assert testapp.get(url, headers={"If-None-Match": '"something-else"'}, status=200).body == first.body
    old_etag = testapp.get(f"/api/products/{product}/").headers["ETag"]
    admin_app.patch_json(f"/api/products/{product}/", {"price": "21.00"})
    changed = testapp.get(f"/api/products/{product}/", headers={"If-None-Match": old_etag}, status=200)
    assert changed.json["price"] == "21.00"
    assert changed.headers["ETag"] != old_etag


def test_the_cache_lives_ten_minutes_by_default(shopcore_registry):
    assert shopcore_registry["shopcore.cache_namespaces"]["catalog"].region.expiration_time == 600


def test_a_bad_cache_ttl_setting_stops_start_up_naming_it(shopcore_settings):
    with pytest.raises(Exception, match="shopcore.catalog.cache_ttl"):
        make_test_configurator({**shopcore_settings, "shopcore.catalog.cache_ttl": "ten minutes"})


# --- invalidation: after each kind of write, no client reads what was there before -------------------

def cached_views(testapp, product, category):
    """Read (and so cache) the views a write may make stale."""
    return {
        "list": testapp.get("/api/products/").json,
        "detail": testapp.get(f"/api/products/{product}/").json,
        "filtered": testapp.get(f"/api/products/?category={category}").json,
        "categories": testapp.get("/api/categories/").json,
        "category": testapp.get(f"/api/categories/{category}/").json,
    }


@pytest.fixture
def stocked(make_category, make_product, testapp):
    category = make_category("Lighting")
    product = make_product("Lamp", price="20.00", stock=5, category=category)
    cached_views(testapp, product, category)
    return {"product": product, "category": category}


def test_product_update_reaches_list_and_detail(stocked, admin_app, testapp):
    product = stocked["product"]
    admin_app.patch_json(f"/api/products/{product}/", {"price": "25.00"})
    after = cached_views(testapp, product, stocked["category"])
    assert after["detail"]["price"] == after["list"]["results"][0]["price"] == "25.00"
    admin_app.put_json(f"/api/products/{product}/", {"name": "Desk lamp", "price": "26.00"})
    after = cached_views(testapp, product, stocked["category"])
    assert after["detail"]["name"] == after["filtered"]["results"][0]["name"] == "Desk lamp"


def test_product_create_reaches_lists(stocked, admin_app, testapp):
    admin_app.post_json("/api/products/", {"name": "Bulb", "price": "2.00", "category": stocked["category"]})
    after = cached_views(testapp, stocked["product"], stocked["category"])
    assert [p["name"] for p in after["list"]["results"]] == ["Lamp", "Bulb"]
    assert after["filtered"]["count"] == 2


def test_product_delete_reaches_list_and_detail(stocked, admin_app, testapp):
    admin_app.delete(f"/api/products/{stocked['product']}/", status=204)
    assert testapp.get("/api/products/").json["count"] == 0
    testapp.get(f"/api/products/{stocked['product']}/", status=404)


def test_product_deactivation_reaches_list_and_detail(stocked, admin_app, testapp, register_extension):
    register_extension(PRODUCT_REFERENCED, lambda request, product_id: True)
    admin_app.delete(f"/api/products/{stocked['product']}/", status=204)
    assert testapp.get("/api/products/").json["count"] == 0
    testapp.get(f"/api/products/{stocked['product']}/", status=404)
    assert admin_app.get(f"/api/products/{stocked['product']}/").json["is_active"] is False


@pytest.mark.parametrize("change, stock", [
    (lambda catalog, product: catalog.take_stock(product, 2), 3),
    (lambda catalog, product: catalog.take_stock_many({product: 5}), 0),
    (lambda catalog, product: catalog.return_stock(product, 4), 9),
])
def test_stock_changes_reach_list_and_detail(stocked, make_request, testapp, change, stock):
    with make_request() as request:
        change(request.find_service(CatalogService), stocked["product"])
    after = cached_views(testapp, stocked["product"], stocked["category"])
    assert after["detail"]["stock"] == after["list"]["results"][0]["stock"] == stock
    assert testapp.get("/api/products/?in_stock=true").json["count"] == (1 if stock else 0)


def test_a_rolled_back_stock_change_leaves_the_cache_right(stocked, make_request, testapp):
    with pytest.raises(RuntimeError):
        with make_request() as request:
            assert request.find_service(CatalogService).take_stock(stocked["product"], 5) is True
            raise RuntimeError("checkout failed")
    assert testapp.get(f"/api/products/{stocked['product']}/").json["stock"] == 5
    assert testapp.get("/api/products/?in_stock=true").json["count"] == 1


def test_category_writes_reach_category_views_and_filtered_product_lists(stocked, make_category, admin_app,
                                                                         testapp):
    category = stocked["category"]
    admin_app.patch_json(f"/api/categories/{category}/", {"name": "Lights"})
    after = cached_views(testapp, stocked["product"], category)
    assert after["category"]["name"] == after["categories"]["results"][0]["name"] == "Lights"

    # Moving a category under another changes which products the parent's filter finds.
    home = admin_app.post_json("/api/categories/", {"name": "Home"}, status=201).json["id"]
    assert testapp.get(f"/api/products/?category={home}").json["count"] == 0
    admin_app.patch_json(f"/api/categories/{category}/", {"parent": home})
    assert testapp.get(f"/api/products/?category={home}").json["count"] == 1

    spare = make_category("Spare")
    assert testapp.get("/api/categories/").json["count"] == 3
    admin_app.delete(f"/api/categories/{spare}/", status=204)
    assert testapp.get("/api/categories/").json["count"] == 2
    testapp.get(f"/api/categories/{spare}/", status=404)


# --- more than one web process, and a cache that is down ---------------------------------------------

def second_app(settings, db_connection, **changes):
    """Another web process of the same shop: its own configuration and cache client, the same database."""
    import webtest

    config = make_test_configurator({**settings, **changes}, **{
        "shopcore.dbsession_factory": sessionmaker(bind=db_connection, join_transaction_mode="create_savepoint",
                                                   expire_on_commit=False),
    })
    return config.registry, webtest.TestApp(config.make_wsgi_app())


def test_a_write_in_one_process_is_seen_by_every_other(shopcore_settings, db_connection, make_product,
                                                        testapp, admin_app):
    require_service("SHOPCORE_TEST_REDIS_URL")  # processes share a cache only through Redis
    product = make_product("Lamp", price="20.00")
    _registry, other = second_app(shopcore_settings, db_connection)
    assert other.get(f"/api/products/{product}/").json["price"] == "20.00"
    assert other.get("/api/products/").json["results"][0]["price"] == "20.00"
    admin_app.patch_json(f"/api/products/{product}/", {"price": "30.00"})
    assert other.get(f"/api/products/{product}/").json["price"] == "30.00"
    assert other.get("/api/products/").json["results"][0]["price"] == "30.00"


def test_with_the_cache_down_reads_and_writes_still_work(shopcore_settings, db_connection, make_product, caplog):
    product = make_product("Lamp", price="20.00", stock=2)
    registry, app = second_app(shopcore_settings, db_connection, **{
        "shopcore.redis_url": "redis://127.0.0.1:1/0", "shopcore.cache.backend": "dogpile.cache.redis"})
    assert app.get("/api/products/").json["results"][0]["name"] == "Lamp"
    assert app.get(f"/api/products/{product}/").json["stock"] == 2
    with request_context(registry) as request:
        assert request.find_service(CatalogService).take_stock(product, 2) is True
    assert app.get(f"/api/products/{product}/").json["stock"] == 0
    assert "serving without cache" in caplog.text


def cache_keys(registry) -> list[str]:
    """Every key in the cache: Redis's whole test database, or the bounded memory backend's entries."""
    url = registry.settings["shopcore.redis_url"]
    if url:
        import redis

        client = redis.Redis.from_url(url)
        try:
            return [key.decode() for key in client.keys("*")]
        finally:
            client.close()
    return list(registry["shopcore.cache_region"].actual_backend._cache)


def test_keys_and_links_never_take_the_host_header(make_product, make_category, testapp, shopcore_registry):
    for number in range(3):
        make_product(f"Lamp {number}")
        make_category(f"Room {number}")
    for path in ("/api/products/", "/api/categories/"):
        body = testapp.get(f"{path}?page_size=1&page=2", headers={"Host": "evil.example"}).json
        assert (body["previous"], body["next"]) == (f"http://localhost{path}?page_size=1",
                                                    f"http://localhost{path}?page_size=1&page=3")
    keys = set(cache_keys(shopcore_registry))
    for number in range(1500):
        path = ("/api/products/", "/api/categories/")[number % 2]
        response = testapp.get(f"{path}?page_size=1&page=2", headers={"Host": f"h{number}.evil.example"})
        assert b"evil" not in response.body
    assert set(cache_keys(shopcore_registry)) == keys


def test_a_search_is_in_its_key_as_a_fixed_length_digest(make_product, testapp, shopcore_registry):
    make_product("Lamp")
    words = " ".join(f"word{number}xyz" for number in range(8))
    assert testapp.get("/api/products/", params={"search": words}).json["count"] == 0
    keys = cache_keys(shopcore_registry)
    assert keys and all("xyz" not in key and len(key) < 120 for key in keys), keys
