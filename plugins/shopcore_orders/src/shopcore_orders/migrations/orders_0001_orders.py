"""orders: orders, lines, adjustments, idempotency keys

Revision ID: orders_0001
Revises:
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = "orders_0001"
down_revision = None
branch_labels = ("orders",)
depends_on = "core_0001"

MONEY = sa.Numeric(12, 2)


def upgrade() -> None:
    op.create_table(
        "orders_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("subtotal", MONEY, nullable=False),
        sa.Column("total_price", MONEY, nullable=False),
        sa.Column("shipping_address", sa.String(500), nullable=False),
        sa.Column("payment_method", sa.String(50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'paid', 'cancelled', 'shipped', 'delivered')",
                           name=op.f("ck_orders_orders_status_known")),
        sa.CheckConstraint("total_price >= 0", name=op.f("ck_orders_orders_total_not_negative")),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name="fk_orders_orders_user_id_core_users",
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_orders_orders"),
    )
    op.create_index("ix_orders_orders_user_created", "orders_orders", ["user_id", "created_at", "id"])
    op.create_index("ix_orders_orders_status_created", "orders_orders", ["status", "created_at", "id"])
    op.create_index("ix_orders_orders_created", "orders_orders", ["created_at", "id"])

    op.create_table(
        "orders_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_orders_lines_quantity_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["orders_orders.id"], name="fk_orders_lines_order_id_orders_orders",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_orders_lines"),
    )
    op.create_index("ix_orders_lines_order_id", "orders_lines", ["order_id"])
    op.create_index("ix_orders_lines_product_id", "orders_lines", ["product_id"])

    op.create_table(
        "orders_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders_orders.id"],
                                name="fk_orders_adjustments_order_id_orders_orders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_orders_adjustments"),
    )
    op.create_index("ix_orders_adjustments_order_id", "orders_adjustments", ["order_id"])

    op.create_table(
        "orders_idempotency_keys",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('started', 'completed')", name=op.f("ck_orders_idempotency_keys_state_known")),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name="fk_orders_idempotency_keys_user_id_core_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_orders_idempotency_keys"),
    )
    op.create_index("ix_orders_idempotency_keys_created", "orders_idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("orders_idempotency_keys")
    op.drop_table("orders_adjustments")
    op.drop_table("orders_lines")
    op.drop_table("orders_orders")
