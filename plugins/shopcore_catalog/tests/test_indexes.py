"""The list's orderings and the search are served by indexes, so a page stays cheap with a large catalog."""
import pytest
from sqlalchemy import select, text

from shopcore_catalog.models import Product
from shopcore_catalog.services import ORDERING_CHOICES, ProductFilters


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
        catalog = request.find_service(name="catalog")
        plan = query_plan(request.dbsession, catalog.product_query(ProductFilters(ordering=ordering)).limit(20))
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
    column = (ordering or "id").lstrip("-").replace("created_at", "created")
    assert f"ix_catalog_products_active_{column}" in plan or (ordering is None and "pk_catalog_products" in plan), plan


def test_the_search_condition_is_served_by_the_text_index_on_postgresql(make_product, make_request):
    make_product("Lamp")
    with make_request() as request:
        catalog = request.find_service(name="catalog")
        condition = catalog._search_condition(["lamp"])
        # The condition alone, so no other index can serve the query: it is indexable or it is a scan.
        plan = query_plan(request.dbsession, select(Product.id).where(condition), allow_sort=True)
        sql = str(condition.compile(request.dbsession.get_bind()))
        if request.dbsession.get_bind().dialect.name == "postgresql":
            assert "ix_catalog_products_search" in plan, plan
        else:
            assert "LIKE" in sql.upper()  # SQLite: the substring fallback, no index to use
