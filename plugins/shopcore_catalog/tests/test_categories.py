"""Category endpoints: CRUD, permissions, validation, the tree rule and the 409 on deleting a used category."""
import pytest


def test_admin_creates_reads_updates_and_deletes_a_category(admin_app, testapp):
    created = admin_app.post_json("/api/categories/", {"name": "Electronics", "description": "Gadgets"}, status=201)
    category_id = created.json["id"]
    assert created.json == {"id": category_id, "name": "Electronics", "slug": "electronics",
                            "description": "Gadgets", "parent": None}
    assert testapp.get(f"/api/categories/{category_id}/").json["name"] == "Electronics"

    replaced = admin_app.put_json(f"/api/categories/{category_id}/", {"name": "Gadgets"})
    assert replaced.json["name"] == "Gadgets"
    assert replaced.json["description"] == "Gadgets"  # left out of the PUT, so kept
    assert replaced.json["slug"] == "electronics"  # slugs stay put when the name changes
    patched = admin_app.patch_json(f"/api/categories/{category_id}/", {"description": ""})
    assert patched.json["description"] == ""

    admin_app.delete(f"/api/categories/{category_id}/", status=204)
    testapp.get(f"/api/categories/{category_id}/", status=404)


def test_list_is_paginated_by_name(make_category, testapp):
    for name in ("Toys", "Books", "Garden"):
        make_category(name)
    body = testapp.get("/api/categories/?page_size=2").json
    assert body["count"] == 3
    assert [c["name"] for c in body["results"]] == ["Books", "Garden"]
    assert body["previous"] is None
    assert body["next"] == "http://localhost/api/categories/?page_size=2&page=2"
    second = testapp.get(body["next"]).json
    assert [c["name"] for c in second["results"]] == ["Toys"]
    assert second["next"] is None
    assert second["previous"] == "http://localhost/api/categories/?page_size=2"


@pytest.mark.parametrize("method", ["post_json", "put_json", "patch_json", "delete"])
def test_writes_need_an_admin(method, make_category, testapp, customer_app):
    category_id = make_category("Books")
    url = "/api/categories/" if method == "post_json" else f"/api/categories/{category_id}/"
    args = () if method == "delete" else ({"name": "Comics"},)
    anonymous = getattr(testapp, method)(url, *args, status=401)
    assert anonymous.json == {"detail": "Authentication credentials were not provided or are invalid."}
    customer = getattr(customer_app, method)(url, *args, status=403)
    assert customer.json == {"detail": "You do not have permission to perform this action."}
    assert testapp.get(f"/api/categories/{category_id}/").json["name"] == "Books"


def test_names_are_unique_whatever_their_case(make_category, admin_app):
    make_category("Books")
    response = admin_app.post_json("/api/categories/", {"name": "BOOKS"}, status=400)
    assert response.json["errors"] == [{"field": "name", "message": "A category with this name already exists."}]
    other = make_category("Comics")
    response = admin_app.patch_json(f"/api/categories/{other}/", {"name": "books"}, status=400)
    assert response.json["errors"][0]["field"] == "name"
    # Renaming a category to its own name in another case is not a clash with itself.
    assert admin_app.patch_json(f"/api/categories/{other}/", {"name": "COMICS"}).json["name"] == "COMICS"


def test_slugs_are_derived_unique_and_may_be_given(admin_app, make_category):
    make_category("Sci Fi")
    derived = admin_app.post_json("/api/categories/", {"name": "Sci-Fi"}, status=201).json
    assert derived["slug"] == "sci-fi-2"
    given = admin_app.post_json("/api/categories/", {"name": "Poetry", "slug": "verse"}, status=201).json
    assert given["slug"] == "verse"
    taken = admin_app.post_json("/api/categories/", {"name": "Drama", "slug": "verse"}, status=400)
    assert taken.json["errors"] == [{"field": "slug", "message": "A category with this slug already exists."}]
    bad = admin_app.post_json("/api/categories/", {"name": "Drama", "slug": "not a slug"}, status=400)
    assert bad.json["errors"][0]["field"] == "slug"


@pytest.mark.parametrize("body, field, message", [
    ({"name": "x" * 101}, "name", None),
    ({"name": "   "}, "name", "This field may not be blank."),
    ({}, "name", "This field is required."),
    ({"name": "Books", "colour": "red"}, "colour", "Unknown field."),
    ({"name": "Books", "parent": 999999}, "parent", "Category 999999 does not exist."),
    ({"name": "Books", "parent": 0}, "parent", None),
    ({"name": "Books", "description": "d" * 5001}, "description", None),
    ({"name": 5}, "name", None),
])
def test_bad_input_is_a_400_naming_the_field(admin_app, body, field, message):
    response = admin_app.post_json("/api/categories/", body, status=400)
    assert [error["field"] for error in response.json["errors"]] == [field]
    if message is not None:
        assert response.json["errors"][0]["message"] == message


def test_a_category_cannot_be_its_own_ancestor(make_category, admin_app):
    root = make_category("Root")
    child = make_category("Child", parent=root)
    grandchild = make_category("Grandchild", parent=child)
    for parent in (root, grandchild):
        response = admin_app.patch_json(f"/api/categories/{root}/", {"parent": parent}, status=400)
        assert response.json["errors"] == [{"field": "parent", "message": "A category cannot be its own ancestor."}]
    moved = admin_app.patch_json(f"/api/categories/{grandchild}/", {"parent": root}).json
    assert moved["parent"] == root
    assert admin_app.patch_json(f"/api/categories/{grandchild}/", {"parent": None}).json["parent"] is None


def test_deleting_a_category_with_products_is_a_409(make_category, make_product, admin_app, testapp):
    category_id = make_category("Phones")
    make_product("Phone", category=category_id)
    make_product("Old phone", category=category_id, is_active=False)
    response = admin_app.delete(f"/api/categories/{category_id}/", status=409)
    assert response.json == {
        "detail": f"Category {category_id} still has 2 product(s); move or delete them first."}
    assert testapp.get(f"/api/categories/{category_id}/").status_code == 200


def test_deleting_a_category_with_subcategories_is_a_409(make_category, admin_app):
    parent = make_category("Electronics")
    make_category("Phones", parent=parent)
    response = admin_app.delete(f"/api/categories/{parent}/", status=409)
    assert "subcategories" in response.json["detail"]


@pytest.mark.parametrize("method", ["get", "patch_json", "put_json", "delete"])
def test_unknown_category_is_a_404(admin_app, method):
    args = () if method in ("get", "delete") else ({"name": "X"},)
    response = getattr(admin_app, method)("/api/categories/424242/", *args, status=404)
    assert response.json == {"detail": "Category not found."}


@pytest.mark.parametrize("path", ["/api/categories/abc/", "/api/categories/0/", "/api/categories/99999999999/"])
def test_malformed_ids_are_a_400(testapp, path):
    response = testapp.get(path, status=400)
    assert response.json["errors"][0]["field"] == "id"
