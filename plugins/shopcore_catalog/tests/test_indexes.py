"""The list's orderings and the search are served by indexes, so a page stays cheap with a large catalog."""
from decimal import Decimal

import pytest
from sqlalchemy import func, literal_column, select, text
from zope.sqlalchemy import mark_changed

from shopcore_catalog.models import Product
from shopcore_catalog.services import ORDERING_CHOICES, ProductFilters
from shopcore_catalog.api import CatalogService


def query_plan(session, statement, allow_sort: bool = False) -> str:
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "postgresql":
        # Small test tables make a sequential scan cheapest; forbid it to see which index the query can use.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        if not allow_sort:
            session.execute(text("SET LOCAL enable_sort = off"))
        return "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
    return "\n".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


@pytest.mark.parametrize("ordering", [None, *ORDERING_CHOICES])
def test_every_ordering_walks_an_index_without_sorting(make_product, make_request, ordering):
    make_product("Lamp")
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        plan = query_plan(request.dbsession, catalog.product_query(ProductFilters(ordering=ordering)).limit(20))
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
    column = (ordering or "id").lstrip("-").replace("created_at", "created")
    assert f"ix_catalog_products_active_{column}" in plan or (ordering is None and "pk_catalog_products" in plan), plan


def test_the_search_condition_is_served_by_the_text_index_on_postgresql(make_product, make_request):
    make_product("Lamp")
    with make_request() as request:
        catalog = request.find_service(CatalogService)
        condition = catalog._search_condition(["lamp"])
        # The condition alone, so no other index can serve the query: it is indexable or it is a scan.
        plan = query_plan(request.dbsession, select(Product.id).where(condition), allow_sort=True)
        sql = str(condition.compile(request.dbsession.get_bind()))
        if request.dbsession.get_bind().dialect.name == "postgresql":
            assert "ix_catalog_products_search" in plan, plan
        else:
            assert "LIKE" in sql.upper()  # SQLite: the substring fallback, no index to use


# --- at 100,000 products, with the planner's real choices ------------------------------------------

LARGE_CATALOG = 100_000


@pytest.fixture
def large_catalog(make_category, make_request):
    """100,000 active products over three categories (one in 211 has "lamp" in its name), with statistics."""
    categories = [make_category(f"Large {index}") for index in range(3)]
    with make_request() as request:
        session = request.dbsession
        session.execute(text(
            "INSERT INTO catalog_products (name, slug, description, price, stock, category_id, is_active, "
            "created_at, updated_at) "
            "SELECT 'Item ' || i || CASE WHEN i % 211 = 0 THEN ' desk lamp' ELSE ' chair' END, 'large-item-' || i, "
            "'A demo product', (i % 5000) + 0.99, i % 7, "
            "(ARRAY[:a, :b, :c])[1 + i % 3], true, now(), now() "
            "FROM generate_series(1, :count) AS i"),
            {"a": categories[0], "b": categories[1], "c": categories[2], "count": LARGE_CATALOG})
        # What autovacuum does on a live catalog: new rows leave GIN's pending list for the index proper
        # (while they sit there the planner rightly prices the index high and scans the table).
        session.execute(text("SELECT gin_clean_pending_list('ix_catalog_products_search'::regclass)"))
        session.execute(text("ANALYZE catalog_products"))
        session.execute(text("ANALYZE catalog_categories"))
        mark_changed(session)  # raw SQL only: without this the request's transaction is rolled back
    return categories


def analyzed_plan(session, statement) -> dict:
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    return session.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}")).scalar()[0]["Plan"]


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def rows_read(plan: dict) -> int:
    """Rows the scans of catalog_products read: those they gave and those their filters dropped (every loop)."""
    return sum((node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Index Recheck", 0)) * node.get("Actual Loops", 1)
               for node in plan_nodes(plan)
               if node.get("Relation Name") == "catalog_products" or "catalog_products" in node.get("Index Name", ""))


def summary(plan: dict) -> str:
    return "; ".join(f"{node['Node Type']}({node.get('Index Name') or node.get('Relation Name') or ''})"
                     f"={node.get('Actual Rows')}x{node.get('Actual Loops')}" for node in plan_nodes(plan))


LARGE_CASES = [
    ({"search": "lamp"}, "ix_catalog_products_search"),
    ({"search": "lamp", "category": 0}, "ix_catalog_products_search"),
    ({"category": 0, "ordering": "price"}, "ix_catalog_products_active_price"),
    ({"category": 0}, None),
    ({"max_price": Decimal("12.00"), "ordering": "price"}, "ix_catalog_products_active_price"),
    ({"min_price": Decimal("4990.00"), "ordering": "-price"}, "ix_catalog_products_active_price"),
    ({"in_stock": True, "ordering": "name"}, "ix_catalog_products_active_name"),
    ({"in_stock": False, "ordering": "-created_at"}, "ix_catalog_products_active_created"),
]


@pytest.mark.postgresql_only
def test_filters_and_search_use_their_indexes_at_100k_products(large_catalog, make_request):
    """Each list page and its count read a bounded number of rows at 100,000 products, through indexes."""
    from shopcore.pagination import COUNT_CAP, count_rows

    problems = []
    for filters, index in LARGE_CASES:
        if "category" in filters:
            filters = {**filters, "category": large_catalog[filters["category"]]}
        with make_request() as request:
            catalog = request.find_service(CatalogService)
            statement = catalog.product_query(ProductFilters(**filters))
            page = analyzed_plan(request.dbsession, statement.limit(21))
            count_plan = analyzed_plan(request.dbsession, select(func.count()).select_from(
                statement.order_by(None).with_only_columns(literal_column("1"), maintain_column_froms=True)
                .limit(COUNT_CAP + 1).subquery()))
            counted = count_rows(request.dbsession, statement, cap=COUNT_CAP)
        nodes = list(plan_nodes(page))
        # The matches of a search are sorted (some hundreds here); every other page stops early.
        bound = 2_000
        limits = [node for node in plan_nodes(count_plan) if node["Node Type"] == "Limit"]
        checks = {
            "no sequential scan of the products": not any(
                node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "catalog_products" for node in nodes),
            f"uses {index}": index is None or any(node.get("Index Name") == index for node in nodes),
            f"page reads at most {bound} rows": rows_read(page) <= bound,
            "count is capped": counted <= COUNT_CAP + 1 and bool(limits) and limits[0]["Actual Rows"] <= COUNT_CAP + 1,
            # It stops after COUNT_CAP + 1 matches: the rows it reads on the way are bounded by how
            # common the matches are, not by the catalog (a tenth of it at most here).
            "count reads at most 10,000 rows": rows_read(count_plan) <= 10_000,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            problems.append(f"{filters}: {failed}\n  page: {summary(page)}\n  count: {summary(count_plan)}")
    assert not problems, "\n".join(problems)
