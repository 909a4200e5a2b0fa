"""orders: lines keep the variant bought, its SKU and options

A line of an order placed before variants existed gets its product's one variant (the catalog's
migration catalog_0003 gave it the product's id) and no SKU or options (null: they were not
recorded then).

Revision ID: orders_0004
Revises: orders_0003
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "orders_0004"
down_revision = "orders_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders_lines", sa.Column("variant_id", sa.Integer(), nullable=True))
    op.add_column("orders_lines", sa.Column("sku", sa.String(120), nullable=True))
    op.add_column("orders_lines", sa.Column("options", sa.JSON(), nullable=True))
    op.execute("UPDATE orders_lines SET variant_id = product_id")


def downgrade() -> None:
    with op.batch_alter_table("orders_lines") as batch:
        batch.drop_column("options")
        batch.drop_column("sku")
        batch.drop_column("variant_id")
