"""cart: items

Revision ID: cart_0001
Revises:
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = "cart_0001"
down_revision = None
branch_labels = ("cart",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "cart_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 1 AND quantity <= 1000", name=op.f("ck_cart_items_quantity_range")),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name="fk_cart_items_user_id_core_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_cart_items"),
        sa.UniqueConstraint("user_id", "product_id", name="uq_cart_items_user_product"),
    )


def downgrade() -> None:
    op.drop_table("cart_items")
