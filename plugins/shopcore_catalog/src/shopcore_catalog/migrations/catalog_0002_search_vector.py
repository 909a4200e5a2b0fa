"""catalog: a stored search vector on PostgreSQL, and an index for the default order

The text search used to index an expression; a row the planner visits outside that index (a walk
in price or id order) then had its vector computed on the spot, tens of microseconds a row. A
stored generated column costs that once, when the row is written. It uses the `simple`
configuration: no stop words dropped (a search for "only" or "the" finds them, as on SQLite) and no
stemming (the search matches word prefixes, so "lamp" finds "lamps").

The default list order (id, active products only) gets its own (is_active, id) index: SQLite
otherwise picks another is_active index and sorts the whole table for every page.

Revision ID: catalog_0002
Revises: catalog_0001
Create Date: 2026-11-27
"""
from alembic import op

revision = "catalog_0002"
down_revision = "catalog_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_catalog_products_active_id", "catalog_products", ["is_active", "id"])
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite searches with LIKE
    op.execute("DROP INDEX IF EXISTS ix_catalog_products_search")
    op.execute("ALTER TABLE catalog_products ADD COLUMN search_vector tsvector "
               "GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || description)) STORED")
    op.execute("CREATE INDEX ix_catalog_products_search ON catalog_products USING gin (search_vector)")


def downgrade() -> None:
    op.drop_index("ix_catalog_products_active_id", table_name="catalog_products")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_catalog_products_search")
    op.execute("ALTER TABLE catalog_products DROP COLUMN search_vector")
    op.execute("CREATE INDEX ix_catalog_products_search ON catalog_products "
               "USING gin (to_tsvector('english', name || ' ' || description))")
