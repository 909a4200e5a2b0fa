"""coupons: codes, applied codes, uses per customer, redemptions

Revision ID: coupons_0001
Revises:
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "coupons_0001"
down_revision = None
branch_labels = ("coupons",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "coupons_coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Numeric(12, 2), nullable=False),
        sa.Column("minimum_total", sa.Numeric(12, 2), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('percentage', 'fixed')", name=op.f("ck_coupons_coupons_kind_known")),
        sa.CheckConstraint("value > 0 AND (kind = 'fixed' OR value <= 100)",
                           name=op.f("ck_coupons_coupons_value_range")),
        sa.CheckConstraint("minimum_total IS NULL OR minimum_total >= 0",
                           name=op.f("ck_coupons_coupons_minimum_not_negative")),
        sa.CheckConstraint("usage_limit IS NULL OR usage_limit >= 1",
                           name=op.f("ck_coupons_coupons_usage_limit_positive")),
        sa.CheckConstraint("per_customer_limit IS NULL OR per_customer_limit >= 1",
                           name=op.f("ck_coupons_coupons_per_customer_positive")),
        sa.CheckConstraint("uses >= 0 AND (usage_limit IS NULL OR uses <= usage_limit)",
                           name=op.f("ck_coupons_coupons_uses_within_limit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_coupons_code")),
    )
    op.create_table(
        "coupons_applied",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name=op.f("fk_coupons_applied_user_id_core_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons_coupons.id"],
                                name=op.f("fk_coupons_applied_coupon_id_coupons_coupons"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_coupons_applied")),
    )
    op.create_index(op.f("ix_coupons_applied_coupon_id"), "coupons_applied", ["coupon_id"])
    op.create_table(
        "coupons_customer_uses",
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.CheckConstraint("uses >= 0", name=op.f("ck_coupons_customer_uses_uses_not_negative")),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons_coupons.id"],
                                name=op.f("fk_coupons_customer_uses_coupon_id_coupons_coupons"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"],
                                name=op.f("fk_coupons_customer_uses_user_id_core_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("coupon_id", "user_id", name=op.f("pk_coupons_customer_uses")),
    )
    op.create_table(
        "coupons_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("discount", sa.Numeric(12, 2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons_coupons.id"],
                                name=op.f("fk_coupons_redemptions_coupon_id_coupons_coupons"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"],
                                name=op.f("fk_coupons_redemptions_user_id_core_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons_redemptions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_coupons_redemptions_order_id")),
    )
    op.create_index(op.f("ix_coupons_redemptions_coupon_id"), "coupons_redemptions", ["coupon_id"])


def downgrade() -> None:
    op.drop_table("coupons_redemptions")
    op.drop_table("coupons_customer_uses")
    op.drop_table("coupons_applied")
    op.drop_table("coupons_coupons")
