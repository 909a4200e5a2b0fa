"""Assembling the spec from base.yaml and the plugins' fragments."""
import pytest

from shopcore.openapi import SpecConflict, merge_fragments

BASE = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {"/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok"}}}}},
    "components": {"schemas": {"Error": {"type": "object"}}},
}


def fragment(path, operation_id, schemas=None):
    return {"paths": {path: {"get": {"operationId": operation_id, "responses": {"200": {"description": "x"}}}}},
            "components": {"schemas": schemas or {}}}


def test_fragments_are_merged_and_operations_get_the_error_response():
    spec = merge_fragments(BASE, [("catalog", fragment("/api/products/", "listProducts", {"Product": {"type": "object"}}))])
    assert set(spec["paths"]) == {"/health", "/api/products/"}
    assert spec["components"]["schemas"]["Product"] == {"type": "object"}
    assert spec["paths"]["/api/products/"]["get"]["responses"]["default"] == {"$ref": "#/components/responses/Error"}


def test_duplicate_path_names_both_owners():
    with pytest.raises(SpecConflict, match=r"plugins 'catalog' and 'cart' both declare OpenAPI path /api/x/"):
        merge_fragments(BASE, [("catalog", fragment("/api/x/", "a")), ("cart", fragment("/api/x/", "b"))])


def test_path_clashing_with_core_is_refused():
    with pytest.raises(SpecConflict, match=r"the core and plugin 'cart' both declare OpenAPI path /health"):
        merge_fragments(BASE, [("cart", fragment("/health", "other"))])


def test_duplicate_operation_id_is_refused():
    with pytest.raises(SpecConflict, match=r"plugins 'catalog' and 'cart' both declare OpenAPI operationId listThings"):
        merge_fragments(BASE, [("catalog", fragment("/a/", "listThings")), ("cart", fragment("/b/", "listThings"))])


def test_clashing_component_is_refused_but_an_identical_one_is_shared():
    same = {"Thing": {"type": "object"}}
    merged = merge_fragments(BASE, [("catalog", fragment("/a/", "a", same)), ("cart", fragment("/b/", "b", same))])
    assert merged["components"]["schemas"]["Thing"] == {"type": "object"}
    with pytest.raises(SpecConflict, match=r"component schemas/Error is declared differently by the core and plugin 'cart'"):
        merge_fragments(BASE, [("cart", fragment("/b/", "b", {"Error": {"type": "string"}}))])


def test_fragment_may_not_set_top_level_keys():
    with pytest.raises(SpecConflict, match=r"top-level keys it may not set: info"):
        merge_fragments(BASE, [("evil", {"info": {"title": "mine"}})])


def test_operation_without_id_is_refused():
    bad = {"paths": {"/x/": {"get": {"responses": {"200": {"description": "x"}}}}}}
    with pytest.raises(SpecConflict, match=r"an operation of /x/ has no operationId"):
        merge_fragments(BASE, [("bad", bad)])


def test_served_spec_is_the_merged_one(testapp, shopcore_registry):
    served = testapp.get("/swagger.json").json
    assert served == shopcore_registry["shopcore.openapi_spec"]
    yaml_text = testapp.get("/openapi.yaml").text
    assert "operationId: listPlugins" in yaml_text


def test_every_route_of_the_spec_has_a_view(shopcore_registry):
    # pyramid_openapi3 checks this at start-up; this asserts the merged spec is what it checked.
    spec_paths = set(shopcore_registry["shopcore.openapi_spec"]["paths"])
    routes = {r["introspectable"]["pattern"] for r in shopcore_registry.introspector.get_category("routes")}
    assert spec_paths <= routes


def test_the_spec_and_the_pagination_helper_share_one_page_size_limit(shopcore_registry):
    from shopcore.pagination import MAX_PAGE_SIZE

    page_size = shopcore_registry["shopcore.openapi_spec"]["components"]["parameters"]["PageSize"]
    assert page_size["schema"]["maximum"] == MAX_PAGE_SIZE
