"""catalog: categories and products

Revision ID: catalog_0001
Revises:
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = "catalog_0001"
down_revision = None
branch_labels = ("catalog",)
depends_on = None

# Must be the very expression the search query uses, or PostgreSQL will not use the index.
SEARCH_DOCUMENT = "to_tsvector('english', name || ' ' || description)"


def upgrade() -> None:
    op.create_table(
        "catalog_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_categories"),
        sa.UniqueConstraint("slug", name="uq_catalog_categories_slug"),
        # NO ACTION (checked at the end of a statement), not RESTRICT: on SQLite a RESTRICT
        # self-reference refuses even a DELETE that removes a whole subtree at once.
        sa.ForeignKeyConstraint(["parent_id"], ["catalog_categories.id"],
                                name="fk_catalog_categories_parent_id_catalog_categories"),
    )
    op.create_index("ix_catalog_categories_parent_id", "catalog_categories", ["parent_id"])
    op.create_index("uq_catalog_categories_name_lower", "catalog_categories", [sa.text("lower(name)")], unique=True)

    op.create_table(
        "catalog_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_products"),
        sa.UniqueConstraint("slug", name="uq_catalog_products_slug"),
        sa.ForeignKeyConstraint(["category_id"], ["catalog_categories.id"],
                                name="fk_catalog_products_category_id_catalog_categories"),
        sa.CheckConstraint("price >= 0", name="ck_catalog_products_price_not_negative"),
        sa.CheckConstraint("stock >= 0", name="ck_catalog_products_stock_not_negative"),
    )
    for name, columns in (
        ("ix_catalog_products_active_name", ["is_active", "name", "id"]),
        ("ix_catalog_products_active_price", ["is_active", "price", "id"]),
        ("ix_catalog_products_active_created", ["is_active", "created_at", "id"]),
        ("ix_catalog_products_active_stock", ["is_active", "stock", "id"]),
        ("ix_catalog_products_category", ["category_id", "is_active"]),
    ):
        op.create_index(name, "catalog_products", columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_catalog_products_search ON catalog_products USING gin ({SEARCH_DOCUMENT})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_catalog_products_search")
    op.drop_table("catalog_products")
    op.drop_table("catalog_categories")
