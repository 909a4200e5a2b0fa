"""The product list: filters, search, ordering, pages and their bounds."""
import pytest


def names(response) -> list[str]:
    return [product["name"] for product in response.json["results"]]


@pytest.fixture
def shelf(make_category, make_product):
    """A small catalog: Electronics > Phones > Cases, and Books."""
    electronics = make_category("Electronics")
    phones = make_category("Phones", parent=electronics)
    cases = make_category("Cases", parent=phones)
    books = make_category("Books")
    ids = {
        "Laptop": make_product("Laptop", price="1200.00", stock=5, category=electronics,
                               description="A light notebook computer"),
        "Phone": make_product("Phone", price="600.00", stock=0, category=phones,
                              description="Runs apps; a fine camera"),
        "Leather case": make_product("Leather case", price="25.50", stock=40, category=cases,
                                     description="Protects your phone"),
        "Novel": make_product("Novel", price="12.99", stock=7, category=books,
                              description="A gripping story of running away"),
        "Atlas": make_product("Atlas", price="45.00", stock=2, category=books, description="Maps of the world"),
        "Retired": make_product("Retired phone", price="1.00", stock=3, category=phones, is_active=False),
    }
    return {"categories": {"electronics": electronics, "phones": phones, "cases": cases, "books": books},
            "products": ids}


def test_list_shows_active_products_by_id(shelf, testapp):
    response = testapp.get("/api/products/")
    assert names(response) == ["Laptop", "Phone", "Leather case", "Novel", "Atlas"]
    assert response.json["count"] == 5
    assert response.json["next"] is None and response.json["previous"] is None
    first = response.json["results"][0]
    assert first["price"] == "1200.00" and first["category"] == shelf["categories"]["electronics"]


def test_category_filter_includes_subcategories(shelf, testapp):
    categories = shelf["categories"]
    assert names(testapp.get(f"/api/products/?category={categories['electronics']}")) == [
        "Laptop", "Phone", "Leather case"]
    assert names(testapp.get(f"/api/products/?category={categories['phones']}")) == ["Phone", "Leather case"]
    assert names(testapp.get(f"/api/products/?category={categories['cases']}")) == ["Leather case"]
    assert names(testapp.get("/api/products/?category=424242")) == []


def test_price_bounds_are_inclusive(shelf, testapp):
    assert names(testapp.get("/api/products/?min_price=25.50&max_price=600")) == [
        "Phone", "Leather case", "Atlas"]
    assert names(testapp.get("/api/products/?max_price=12.99")) == ["Novel"]
    assert names(testapp.get("/api/products/?min_price=1200.01")) == []


def test_in_stock_filter(shelf, testapp):
    assert names(testapp.get("/api/products/?in_stock=true")) == ["Laptop", "Leather case", "Novel", "Atlas"]
    assert names(testapp.get("/api/products/?in_stock=false")) == ["Phone"]


@pytest.mark.parametrize("search, expected", [
    ("laptop", ["Laptop"]),
    ("PHONE", ["Phone", "Leather case"]),  # the name of one, the description of the other
    ("notebook", ["Laptop"]),  # description only
    ("maps world", ["Atlas"]),  # every word must match
    ("phone maps", []),
    ("lapt", ["Laptop"]),  # a word's beginning is enough
    ("camera!", ["Phone"]),  # punctuation is not syntax
    ("' & | ! :* (", ["Laptop", "Phone", "Leather case", "Novel", "Atlas"]),  # no words: no filter
    ("retired", []),  # inactive products are never found
    ("the", ["Atlas"]),  # common words are words too
    ("run", ["Phone", "Novel"]),  # "Runs", "running"
])
def test_search_finds_words_in_name_and_description(shelf, testapp, search, expected):
    assert names(testapp.get("/api/products/", {"search": search})) == expected


def test_filters_combine(shelf, testapp):
    books = shelf["categories"]["books"]
    response = testapp.get(f"/api/products/?category={books}&in_stock=true&min_price=20&search=world")
    assert names(response) == ["Atlas"]


@pytest.mark.parametrize("ordering, expected", [
    ("name", ["Atlas", "Laptop", "Leather case", "Novel", "Phone"]),
    ("-name", ["Phone", "Novel", "Leather case", "Laptop", "Atlas"]),
    ("price", ["Novel", "Leather case", "Atlas", "Phone", "Laptop"]),
    ("-price", ["Laptop", "Phone", "Atlas", "Leather case", "Novel"]),
    ("stock", ["Phone", "Atlas", "Laptop", "Novel", "Leather case"]),
    ("-stock", ["Leather case", "Novel", "Laptop", "Atlas", "Phone"]),
    ("created_at", ["Laptop", "Phone", "Leather case", "Novel", "Atlas"]),
    ("-created_at", ["Atlas", "Novel", "Leather case", "Phone", "Laptop"]),
])
def test_ordering(shelf, testapp, ordering, expected):
    assert names(testapp.get(f"/api/products/?ordering={ordering}")) == expected


def test_ties_are_broken_by_id_so_pages_never_repeat_or_skip(make_product, testapp):
    made = [make_product(f"Same price {i}", price="5.00") for i in range(7)]
    seen = []
    url = "/api/products/?ordering=price&page_size=3"
    while url:
        body = testapp.get(url).json
        seen += [product["id"] for product in body["results"]]
        url = body["next"]
    assert seen == made
    descending = testapp.get("/api/products/?ordering=-price&page_size=10").json["results"]
    assert [product["id"] for product in descending] == made[::-1]


def test_pages_and_their_links(make_product, testapp):
    for i in range(5):
        make_product(f"Item {i}")
    first = testapp.get("/api/products/?page_size=2&ordering=-name&in_stock=true").json
    assert first["count"] == 5
    assert [p["name"] for p in first["results"]] == ["Item 4", "Item 3"]
    assert first["next"] == "http://localhost/api/products/?in_stock=true&ordering=-name&page_size=2&page=2"
    second = testapp.get(first["next"]).json
    assert [p["name"] for p in second["results"]] == ["Item 2", "Item 1"]
    assert second["previous"] == "http://localhost/api/products/?in_stock=true&ordering=-name&page_size=2"
    last = testapp.get(second["next"]).json
    assert ([p["name"] for p in last["results"]], last["count"], last["next"]) == (["Item 0"], 5, None)


def test_default_page_size_is_20(make_product, testapp):
    for i in range(21):
        make_product(f"Item {i}")
    body = testapp.get("/api/products/").json
    assert (len(body["results"]), body["count"]) == (20, 21)
    assert body["next"] == "http://localhost/api/products/?page=2"


def test_a_page_past_the_end_is_a_404(make_product, testapp):
    make_product("Only")
    assert testapp.get("/api/products/?page=2", status=404).json == {"detail": "Invalid page."}
    assert testapp.get("/api/products/?page=2&search=only", status=404).json == {"detail": "Invalid page."}
    assert testapp.get("/api/products/?page=1").json["count"] == 1
    assert testapp.get("/api/products/?search=only").json["count"] == 1
    assert testapp.get("/api/products/?search=nothing").json["count"] == 0


def test_an_empty_catalog_has_an_empty_first_page(testapp):
    assert testapp.get("/api/products/").json == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"), ("page=abc", "page"), ("page=-1", "page"), ("page=1.5", "page"),
    ("page_size=0", "page_size"), ("page_size=101", "page_size"), ("page_size=x", "page_size"),
    ("ordering=colour", "ordering"), ("ordering=id", "ordering"), ("ordering=--price", "ordering"),
    ("min_price=-1", "min_price"), ("max_price=1.001", "max_price"), ("min_price=abc", "min_price"),
    ("category=0", "category"), ("category=x", "category"), ("category=99999999999", "category"),
    ("in_stock=maybe", "in_stock"), ("search=" + "s" * 201, "search"),
    ("page=99999999999999999999", "page"),
])
def test_malformed_parameters_are_a_400_naming_them(testapp, query, field):
    response = testapp.get(f"/api/products/?{query}", status=400)
    assert [error["field"] for error in response.json["errors"]] == [field]


@pytest.mark.parametrize("query", ["search=%ED%A0%80", "search=%FF%FE", "search=%00", "search=caf%C3%A9"])
def test_odd_search_text_never_fails(shelf, testapp, query):
    response = testapp.get(f"/api/products/?{query}", expect_errors=True)
    assert response.status_code in (200, 400)
    assert response.content_type == "application/json"


def test_page_size_up_to_100(make_product, testapp):
    make_product("One")
    assert testapp.get("/api/products/?page_size=100").json["count"] == 1
