"""cart: lines hold a variant

Each existing line points at its product's one variant, whose id the catalog's migration
catalog_0003 made equal to the product's id (so this needs none of the catalog's tables). One line
per (customer, variant) from now on.

Revision ID: cart_0002
Revises: cart_0001
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "cart_0002"
down_revision = "cart_0001"
branch_labels = None
depends_on = None


def cart_items(unique: tuple[str, str, str], variant_nullable: bool) -> sa.Table:
    """The table as it stands, so batch mode (a copy of the table on SQLite) need not reflect it."""
    return sa.Table(
        "cart_items", sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=variant_nullable),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 1 AND quantity <= 1000", name="ck_cart_items_quantity_range"),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name="fk_cart_items_user_id_core_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_cart_items"),
        sa.UniqueConstraint(*unique[1:], name=unique[0]),
    )


def upgrade() -> None:
    op.add_column("cart_items", sa.Column("variant_id", sa.Integer(), nullable=True))
    op.execute("UPDATE cart_items SET variant_id = product_id")
    with op.batch_alter_table("cart_items", copy_from=cart_items(
            ("uq_cart_items_user_product", "user_id", "product_id"), variant_nullable=True)) as batch:
        batch.alter_column("variant_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("uq_cart_items_user_product", type_="unique")
        batch.create_unique_constraint("uq_cart_items_user_variant", ["user_id", "variant_id"])


def downgrade() -> None:
    # Lines of several variants of one product are merged back into one line per product.
    op.execute("DELETE FROM cart_items WHERE id NOT IN (SELECT min(id) FROM cart_items GROUP BY user_id, product_id)")
    with op.batch_alter_table("cart_items", copy_from=cart_items(
            ("uq_cart_items_user_variant", "user_id", "variant_id"), variant_nullable=False)) as batch:
        batch.drop_constraint("uq_cart_items_user_variant", type_="unique")
        batch.create_unique_constraint("uq_cart_items_user_product", ["user_id", "product_id"])
        batch.drop_column("variant_id")
