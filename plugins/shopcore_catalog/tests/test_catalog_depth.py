"""Attributes and their filter, the admin's view of inactive products, SKU search with relevance, and
the listing budget: a page costs the same queries whatever its products' variants, attributes and images."""
import pytest
from sqlalchemy import select, text

from shopcore_catalog.api import CatalogService
from shopcore_catalog.testing import image_bytes


@pytest.fixture(scope="module")
def shopcore_extra_settings(tmp_path_factory):
    return {"shopcore.catalog.media_root": str(tmp_path_factory.mktemp("media"))}


@pytest.fixture
def attributes(admin_app):
    made = {}
    for body in ({"code": "material", "name": "Material", "type": "choice", "choices": ["oak", "pine"]},
                 {"code": "width_cm", "name": "Width (cm)", "type": "number"},
                 {"code": "foldable", "name": "Foldable", "type": "boolean"},
                 {"code": "finish", "name": "Finish", "type": "text"}):
        made[body["code"]] = admin_app.post_json("/api/attributes/", body, status=201).json
    return made


# --- attributes -----------------------------------------------------------------------------------------

def test_attribute_values_are_typed_and_filter_the_list(attributes, admin_app, testapp):
    oak = admin_app.post_json("/api/products/", {"name": "Oak table", "price": "300", "attributes": {
        "material": "oak", "width_cm": 120, "foldable": False, "finish": "oiled"}}, status=201).json
    pine = admin_app.post_json("/api/products/", {"name": "Pine table", "price": "150", "attributes": {
        "material": "pine", "width_cm": 120.5, "foldable": True}}, status=201).json
    assert oak["attributes"] == {"finish": "oiled", "foldable": False, "material": "oak", "width_cm": 120}
    assert pine["attributes"]["width_cm"] == 120.5

    def found(query: str) -> list[str]:
        return [p["name"] for p in testapp.get(f"/api/products/?{query}").json["results"]]

    assert found("attribute=material:oak") == ["Oak table"]
    assert found("attribute=width_cm:120.0") == ["Oak table"]  # numbers compare as numbers
    assert found("attribute=material:pine&attribute=foldable:true") == ["Pine table"]
    assert found("attribute=material:oak&attribute=foldable:true") == []
    page = testapp.get("/api/products/?attribute=material:oak&attribute=width_cm:120&page_size=1").json
    assert page["count"] == 1
    unknown = testapp.get("/api/products/?attribute=colour:red", status=400).json
    assert unknown["errors"] == [{"field": "attribute", "message": "No attribute has the code 'colour'."}]
    assert testapp.get("/api/products/?attribute=width_cm:wide", status=400).json["errors"][0]["field"] == "attribute"
    testapp.get("/api/products/?attribute=material", status=400)
    # The product's whole set is replaced by a PATCH; null leaves one out.
    patched = admin_app.patch_json(f"/api/products/{oak['id']}/", {"attributes": {"material": "pine",
                                                                                  "finish": None}}).json
    assert patched["attributes"] == {"material": "pine"}
    assert sorted(found("attribute=material:pine")) == ["Oak table", "Pine table"]


@pytest.mark.parametrize("attributes_body, field, message", [
    ({"material": "steel"}, "attributes.material", "Must be one of: oak, pine."),
    ({"width_cm": "wide"}, "attributes.width_cm", "A number is required."),
    ({"width_cm": True}, "attributes.width_cm", "A number is required."),
    ({"foldable": "maybe"}, "attributes.foldable", "Must be a valid boolean."),
    ({"colour": "red"}, "attributes.colour", "No attribute has the code 'colour'."),
])
def test_bad_attribute_values_are_a_400_naming_them(attributes, admin_app, attributes_body, field, message):
    body = admin_app.post_json("/api/products/", {"name": "Table", "price": "1", "attributes": attributes_body},
                               status=400).json
    assert body["errors"] == [{"field": field, "message": message}]


def test_attribute_definitions(attributes, admin_app, customer_app, testapp):
    listed = testapp.get("/api/attributes/").json
    assert [a["code"] for a in listed["results"]] == ["finish", "foldable", "material", "width_cm"]
    material = attributes["material"]
    assert testapp.get(f"/api/attributes/{material['id']}/").json == material
    assert admin_app.post_json("/api/attributes/", {"code": "material", "name": "Again", "type": "text"},
                               status=409).json["errors"][0]["field"] == "code"
    assert admin_app.post_json("/api/attributes/", {"code": "colour", "name": "Colour", "type": "choice"},
                               status=400).json["errors"][0]["field"] == "choices"
    customer_app.post_json("/api/attributes/", {"code": "x", "name": "X", "type": "text"}, status=403)
    admin_app.post_json("/api/products/", {"name": "Table", "price": "1", "attributes": {"material": "oak"}})
    in_use = admin_app.patch_json(f"/api/attributes/{material['id']}/", {"choices": ["pine"]}, status=409).json
    assert in_use["errors"][0]["field"] == "choices"
    admin_app.patch_json(f"/api/attributes/{material['id']}/", {"choices": ["oak", "pine", "ash"]})
    admin_app.delete(f"/api/attributes/{material['id']}/", status=204)
    assert testapp.get("/api/products/").json["results"][0]["attributes"] == {}


@pytest.mark.postgresql_only
def test_the_attribute_filter_is_an_index_lookup_on_postgresql(attributes, make_product, make_request):
    from shopcore_catalog.services import ProductFilters

    for index in range(30):
        make_product(f"Table {index}")
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        statement = catalog.product_query(ProductFilters(attributes=(("material", "oak"),)))
        session = request.dbsession
        session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: ask whether an index can serve it
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))
    assert "ix_catalog_product_attributes_filter" in plan, plan


# --- the admin's list -------------------------------------------------------------------------------------

def test_admins_list_inactive_products_customers_may_not(make_product, admin_app, customer_app, testapp):
    make_product("On sale")
    make_product("Withdrawn", is_active=False)

    def names(app, query=""):
        return [p["name"] for p in app.get(f"/api/products/{query}").json["results"]]

    assert names(testapp) == ["On sale"] == names(admin_app)
    assert names(admin_app, "?is_active=false") == ["Withdrawn"]
    assert names(admin_app, "?is_active=all") == ["On sale", "Withdrawn"]
    assert names(admin_app, "?is_active=true") == ["On sale"]
    for app, status in ((customer_app, 403), (testapp, 403)):
        body = app.get("/api/products/?is_active=false", status=status).json
        assert body["errors"] == [{"field": "is_active", "message": "Only admins may list inactive products."}]
    app_page = admin_app.get("/api/products/?is_active=all&page_size=1").json
    assert app_page["next"] == "http://localhost/api/products/?is_active=all&page_size=1&page=2"
    testapp.get("/api/products/?is_active=maybe", status=400)


# --- search ------------------------------------------------------------------------------------------------

@pytest.fixture
def searchable(admin_app):
    def product(name, skus, description=""):
        return admin_app.post_json("/api/products/", {"name": name, "description": description, "option_names": [
            "size"], "variants": [{"sku": sku, "options": {"size": str(i)}, "price": "10"} for i, sku in
                                  enumerate(skus)]}, status=201).json["id"]

    return {
        "lamp": product("Desk lamp", ["LMP-100", "LMP-100-XL"]),
        "shade": product("Lamp shade", ["SHD-1"], "fits any lamp"),
        "bulb": product("Bulb", ["LMP-1000"], "for the desk lamp"),
    }


def test_search_finds_skus_whole_and_by_prefix(searchable, testapp):
    def found(search, ordering=""):
        query = f"/api/products/?search={search}" + (f"&ordering={ordering}" if ordering else "")
        return [p["id"] for p in testapp.get(query).json["results"]]

    assert found("shd-1") == [searchable["shade"]]
    assert sorted(found("LMP-100")) == sorted([searchable["lamp"], searchable["bulb"]])
    assert found("lmp-100-x") == [searchable["lamp"]]
    assert found("lam") == [searchable["lamp"], searchable["shade"], searchable["bulb"]]  # word prefixes
    # Relevance: the SKU given whole, then SKUs it begins, then word matches.
    assert found("LMP-1000", "relevance") == [searchable["bulb"]]
    assert found("lmp-100", "relevance") == [searchable["lamp"], searchable["bulb"]]
    ranked = found("lamp", "relevance")
    assert set(ranked) == set(searchable.values()) and ranked[0] in (searchable["lamp"], searchable["shade"])
    relevance_alone = [p["id"] for p in testapp.get("/api/products/?ordering=relevance").json["results"]]
    assert relevance_alone == sorted(searchable.values())  # no search: the default order


# --- the listing budget ----------------------------------------------------------------------------------

def list_queries(testapp, sql_statements, url: str) -> int:
    sql_statements.clear()
    testapp.get(url)
    return len(sql_statements)


@pytest.mark.parametrize("variants, images", [(1, 0), (12, 3)])
def test_a_list_page_costs_one_query_whatever_its_products_hold(attributes, admin_app, testapp, sql_statements,
                                                                make_request, variants, images):
    for index in range(25):
        product = admin_app.post_json("/api/products/", {
            "name": f"Chair {index}", "option_names": ["size"] if variants > 1 else [],
            "variants": [{"options": {"size": str(v)} if variants > 1 else {}, "price": f"{index}.{v:02d}",
                          "stock": v} for v in range(variants)],
            "attributes": {"material": "oak", "width_cm": index, "foldable": True, "finish": "raw"}},
            status=201).json
        for _ in range(images):
            admin_app.post(f"/api/products/{product['id']}/images/", upload_files=[("file", "x.png", image_bytes())],
                           status=201)
    url = "/api/products/?attribute=material:oak&search=chair&ordering=-price&page_size=100"
    # The attribute definitions the filter names, then the page (short: it gives the count itself).
    assert list_queries(testapp, sql_statements, url) == 2
    assert list_queries(testapp, sql_statements, url) == 0  # the cache
    # Without an attribute filter: the page alone; its products' variants, attributes and images are in it.
    assert list_queries(testapp, sql_statements, "/api/products/?page_size=100") == 1
    body = testapp.get("/api/products/?page_size=100").json
    assert all(len(p["variants"]) == variants and len(p["images"]) == images and len(p["attributes"]) == 4
               for p in body["results"])
    assert list_queries(testapp, sql_statements, "/api/products/?page_size=10") == 2  # and the (capped) count
