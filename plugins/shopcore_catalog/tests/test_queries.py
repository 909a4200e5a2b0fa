"""Query counts: a list page costs the same few statements however many products it shows."""
import pytest


@pytest.fixture
def catalog_of(make_category, make_product):
    def make(count: int) -> int:
        parent = make_category()
        child = make_category(parent=parent)
        for i in range(count):
            make_product(f"Product {i}", price=f"{i}.50", stock=i % 3, category=child if i % 2 else parent)
        return parent

    return make


def list_queries(testapp, sql_statements, url: str) -> int:
    sql_statements.clear()
    testapp.get(url)
    return len(sql_statements)


@pytest.mark.parametrize("size", [3, 60])
def test_a_list_page_costs_a_constant_number_of_queries(catalog_of, testapp, sql_statements, size):
    parent = catalog_of(size)
    url = f"/api/products/?category={parent}&search=product&ordering=-price&in_stock=true&page_size=100"
    # One SELECT for the page; a page shorter than page_size is the last, so its length gives the count.
    assert list_queries(testapp, sql_statements, url) == 1
    assert list_queries(testapp, sql_statements, url) == 0  # served from the cache


def test_a_full_page_counts_once_for_every_page_and_ordering(catalog_of, testapp, sql_statements):
    catalog_of(25)
    assert list_queries(testapp, sql_statements, "/api/products/?page_size=10") == 2  # the page, then COUNT
    assert list_queries(testapp, sql_statements, "/api/products/?page_size=10&page=2") == 1  # count remembered
    assert list_queries(testapp, sql_statements, "/api/products/?page_size=10&ordering=name") == 1
    assert list_queries(testapp, sql_statements, "/api/products/?page_size=10&page=3") == 1  # the last page
    body = testapp.get("/api/products/?page_size=10&page=2").json
    assert body["count"] == 25


def test_categories_list_costs_one_query(make_category, testapp, sql_statements):
    for _ in range(30):
        make_category()
    assert list_queries(testapp, sql_statements, "/api/categories/?page_size=50") == 1
    assert list_queries(testapp, sql_statements, "/api/categories/") == 2


def test_a_full_page_of_search_results_counts_its_matches_once(catalog_of, testapp, sql_statements):
    catalog_of(25)
    url = "/api/products/?search=product&page_size=10&ordering=price"
    assert list_queries(testapp, sql_statements, url) == 2  # the page, then the (capped) count
    assert list_queries(testapp, sql_statements, url + "&page=2") == 1  # count remembered
    body = testapp.get(url + "&page=3").json
    assert (body["count"], len(body["results"]), body["results"][0]["name"]) == (25, 5, "Product 20")


def test_past_the_cap_the_count_is_a_lower_bound_and_the_links_stay_exact(catalog_of, testapp, monkeypatch):
    from shopcore import pagination

    monkeypatch.setattr(pagination, "COUNT_CAP", 12)
    catalog_of(25)
    first = testapp.get("/api/products/?page_size=10&ordering=name").json
    assert first["count"] == 13 and first["next"] and first["previous"] is None  # 12 counted, more exist
    second = testapp.get("/api/products/?page_size=10&ordering=name&page=2").json
    assert second["count"] == 21 and second["next"]  # never less than what this page shows to exist
    last = testapp.get("/api/products/?page_size=10&ordering=name&page=3").json
    assert last["count"] == 25 and last["next"] is None and len(last["results"]) == 5  # the last page knows
    assert [p["name"] for p in first["results"] + second["results"] + last["results"]] == sorted(
        f"Product {i}" for i in range(25))
