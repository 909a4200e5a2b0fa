"""Body extensions: a throwaway "reviews" plugin adds `review_count` to the product detail and list bodies.

The field is validated against the extended schema (response validation is on in tests), cached with
the rendered body, refreshed when the plugin invalidates it, and a field added twice or clashing with
one of the product's own stops start-up naming both owners.
"""
from pathlib import Path

import pytest
import webtest

from shopcore.openapi import SpecConflict
from shopcore.plugins import PluginError
from shopcore.testing import clear_caches, make_test_configurator, request_context

FIXTURE = Path(__file__).with_name("reviews_fixture")
COUNTS = "test.review_counts"
CALLS = "test.review_count_calls"


def review_counts(request, ids):
    """The provider: one call per page or detail, with every id of it."""
    request.registry.setdefault(CALLS, []).append(list(ids))
    counts = request.registry.setdefault(COUNTS, {})
    return {product_id: {"review_count": counts.get(product_id, 0)} for product_id in ids}


def include_reviews(config):
    config.add_openapi_fragment(str(FIXTURE / "openapi.yaml"))
    config.add_body_extension("catalog.product", review_counts)


def app_with(settings, registry, *includes):
    return make_test_configurator(settings, extra_includes=includes, **{
        "shopcore.engine": registry["shopcore.engine"],
        "shopcore.dbsession_factory": registry["shopcore.dbsession_factory"]})


@pytest.fixture(scope="module")
def reviews_config(shopcore_settings, shopcore_config):
    return app_with(shopcore_settings, shopcore_config.registry, include_reviews)


@pytest.fixture
def reviews(reviews_config, db_connection):
    registry = reviews_config.registry
    registry[COUNTS], registry[CALLS] = {}, []
    clear_caches(registry)  # this app's own cache regions (Redis is emptied for every test anyway)
    return registry


@pytest.fixture
def app(reviews_config, reviews):
    return webtest.TestApp(reviews_config.make_wsgi_app())


def test_list_and_detail_carry_the_field_with_one_call_per_page(app, reviews, make_product):
    lamp, chair = make_product("Lamp"), make_product("Chair")
    reviews[COUNTS].update({lamp: 3})
    listed = app.get("/api/products/").json["results"]
    assert [(p["id"], p["review_count"]) for p in listed] == [(lamp, 3), (chair, 0)]
    detail = app.get(f"/api/products/{lamp}/").json
    assert detail["review_count"] == 3 and detail["name"] == "Lamp"
    assert reviews[CALLS] == [[lamp, chair], [lamp]]


def test_a_cache_hit_carries_the_field_without_calling_the_provider(app, reviews, make_product):
    lamp = make_product("Lamp")
    reviews[COUNTS][lamp] = 2
    first = app.get(f"/api/products/{lamp}/")
    first_list = app.get("/api/products/")
    calls = len(reviews[CALLS])
    reviews[COUNTS][lamp] = 7  # changed without telling the catalog: the cached bodies stand
    assert app.get(f"/api/products/{lamp}/").body == first.body
    assert app.get("/api/products/").body == first_list.body
    assert first.json["review_count"] == 2
    assert len(reviews[CALLS]) == calls


def test_invalidating_the_body_refreshes_detail_and_lists_after_commit(app, reviews, make_product):
    lamp = make_product("Lamp")
    assert app.get(f"/api/products/{lamp}/").json["review_count"] == 0
    assert app.get("/api/products/").json["results"][0]["review_count"] == 0
    reviews[COUNTS][lamp] = 1
    with request_context(reviews) as request:  # a review written; the plugin says so
        request.invalidate_body("catalog.product", [lamp])
    assert app.get(f"/api/products/{lamp}/").json["review_count"] == 1
    assert app.get("/api/products/").json["results"][0]["review_count"] == 1


def test_the_field_is_in_the_served_spec_and_bodies_without_extensions_are_unchanged(
        app, testapp, make_product):
    product = app.app.registry["shopcore.openapi_spec"]["components"]["schemas"]["Product"]
    assert product["properties"]["review_count"] == {"type": "integer", "minimum": 0,
                                                     "description": "How many reviews the product has."}
    assert "review_count" not in product["required"]
    lamp = make_product("Lamp")
    assert "review_count" not in testapp.get(f"/api/products/{lamp}/").json  # the shop alone: as before
    plain = testapp.app.registry["shopcore.openapi_spec"]["components"]["schemas"]["Product"]
    assert "review_count" not in plain["properties"]


def test_a_field_added_twice_stops_start_up_naming_both(shopcore_settings, shopcore_registry, tmp_path):
    # Another file with the same extension (one file added twice is a clash of fragments already).
    other = tmp_path / "other_reviews.yaml"
    other.write_text((FIXTURE / "openapi.yaml").read_text())

    def include_other_reviews(config):
        config.add_openapi_fragment(str(other))

    with pytest.raises(SpecConflict, match=r"^include '\S+\.include_reviews' and include '\S+\.include_other_reviews' "
                                           r"both add field review_count to OpenAPI schema Product$"):
        app_with(shopcore_settings, shopcore_registry, include_reviews, include_other_reviews)


def test_a_field_clashing_with_the_products_own_stops_start_up(shopcore_settings, shopcore_registry):
    def include_clash(config):
        config.add_openapi_fragment(str(FIXTURE / "clash.yaml"))

    with pytest.raises(SpecConflict, match=r"^plugin 'catalog' and include '\S+\.include_clash' both declare field price "
                                           r"of OpenAPI schema Product"):
        app_with(shopcore_settings, shopcore_registry, include_clash)


def test_only_declared_bodies_and_schemas_can_be_extended(shopcore_settings, shopcore_registry):
    def include_category(config):
        config.add_openapi_fragment(str(FIXTURE / "not_extensible.yaml"))

    with pytest.raises(SpecConflict, match=r"extends schema Category, which is not an extensible body"):
        app_with(shopcore_settings, shopcore_registry, include_category)

    def include_orders_body(config):
        config.add_body_extension("orders.order", review_counts)

    with pytest.raises(PluginError, match=r"^include '\S+\.include_orders_body' extends body 'orders.order', "
                                          r"which no enabled plugin declares extensible"):
        app_with(shopcore_settings, shopcore_registry, include_orders_body)


def test_a_body_declared_extensible_twice_stops_start_up_naming_both(shopcore_settings, shopcore_registry):
    def include_second_product_body(config):
        config.add_extensible_body("catalog.product", schema="Product", invalidate=lambda request, ids: None)

    with pytest.raises(PluginError, match=r"^plugin 'catalog' and include '\S+\.include_second_product_body' both "
                                          r"register extensible body 'catalog.product'"):
        app_with(shopcore_settings, shopcore_registry, include_second_product_body)
