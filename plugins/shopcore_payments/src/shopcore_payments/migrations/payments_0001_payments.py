"""payments: payments, refunds and their lines, returns and their lines, processed webhook events

Revision ID: payments_0001
Revises:
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = "payments_0001"
down_revision = None
branch_labels = ("payments",)
depends_on = "core_0001"

MONEY = sa.Numeric(12, 2)
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payments_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("captured_amount", MONEY, nullable=False),
        sa.Column("refunded_amount", MONEY, nullable=False),
        sa.Column("client_secret", sa.String(255), nullable=True),
        sa.Column("failure", sa.String(500), nullable=True),
        sa.Column("settled_by", sa.String(16), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'authorized', 'captured', 'voided', 'failed', 'partially_refunded', "
                           "'refunded')", name=op.f("ck_payments_payments_status_known")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_payments_amount_positive")),
        sa.CheckConstraint("captured_amount >= 0 AND refunded_amount >= 0",
                           name=op.f("ck_payments_payments_amounts_not_negative")),
        sa.CheckConstraint("refunded_amount <= captured_amount", name=op.f("ck_payments_payments_refunds_within_capture")),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name=op.f("fk_payments_payments_user_id_core_users"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_payments")),
        sa.UniqueConstraint("provider", "reference", name="uq_payments_payments_provider_reference"),
    )
    op.create_index("ix_payments_payments_order", "payments_payments", ["order_id", "id"])

    op.create_table(
        "payments_returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("restocked", sa.Boolean(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("decided_at", MOMENT, nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')", name=op.f("ck_payments_returns_status_known")),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name=op.f("fk_payments_returns_user_id_core_users"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["decided_by"], ["core_users.id"], name=op.f("fk_payments_returns_decided_by_core_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_returns")),
    )
    op.create_index("ix_payments_returns_order_id", "payments_returns", ["order_id"])
    op.create_index("ix_payments_returns_user_created", "payments_returns", ["user_id", "created_at", "id"])
    op.create_index("ix_payments_returns_status_created", "payments_returns", ["status", "created_at", "id"])

    op.create_table(
        "payments_return_lines",
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_payments_return_lines_quantity_positive")),
        sa.ForeignKeyConstraint(["return_id"], ["payments_returns.id"],
                                name=op.f("fk_payments_return_lines_return_id_payments_returns"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("return_id", "order_line_id", name=op.f("pk_payments_return_lines")),
    )
    op.create_index("ix_payments_return_lines_order_line_id", "payments_return_lines", ["order_line_id"])

    op.create_table(
        "payments_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(255), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_refunds_amount_positive")),
        sa.CheckConstraint("status IN ('succeeded', 'pending')", name=op.f("ck_payments_refunds_status_known")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments_payments.id"],
                                name=op.f("fk_payments_refunds_payment_id_payments_payments"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["return_id"], ["payments_returns.id"],
                                name=op.f("fk_payments_refunds_return_id_payments_returns"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["core_users.id"], name=op.f("fk_payments_refunds_created_by_core_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_refunds")),
    )
    op.create_index("ix_payments_refunds_order_id", "payments_refunds", ["order_id"])
    op.create_index("ix_payments_refunds_payment_id", "payments_refunds", ["payment_id"])

    op.create_table(
        "payments_refund_lines",
        sa.Column("refund_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_payments_refund_lines_quantity_positive")),
        sa.ForeignKeyConstraint(["refund_id"], ["payments_refunds.id"],
                                name=op.f("fk_payments_refund_lines_refund_id_payments_refunds"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("refund_id", "order_line_id", name=op.f("pk_payments_refund_lines")),
    )
    op.create_index("ix_payments_refund_lines_order_line_id", "payments_refund_lines", ["order_line_id"])

    op.create_table(
        "payments_webhook_events",
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name=op.f("pk_payments_webhook_events")),
    )


def downgrade() -> None:
    op.drop_table("payments_webhook_events")
    op.drop_table("payments_refund_lines")
    op.drop_table("payments_refunds")
    op.drop_table("payments_return_lines")
    op.drop_table("payments_returns")
    op.drop_table("payments_payments")
