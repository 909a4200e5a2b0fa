"""shipping: zones, their countries, methods, weight bands, product weights

Revision ID: shipping_0001
Revises:
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa

revision = "shipping_0001"
down_revision = None
branch_labels = ("shipping",)
depends_on = None

MONEY = sa.Numeric(12, 2)


def upgrade() -> None:
    op.create_table(
        "shipping_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_zones")),
    )
    op.create_table(
        "shipping_zone_countries",
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["zone_id"], ["shipping_zones.id"], ondelete="CASCADE",
                                name=op.f("fk_shipping_zone_countries_zone_id_shipping_zones")),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_shipping_zone_countries")),
    )
    op.create_index(op.f("ix_shipping_zone_countries_zone_id"), "shipping_zone_countries", ["zone_id"])
    op.create_table(
        "shipping_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("free_above", MONEY, nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rule IN ('flat', 'free_above', 'weight')", name=op.f("ck_shipping_methods_rule_known")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_shipping_methods_price_not_negative")),
        sa.CheckConstraint("free_above IS NULL OR free_above >= 0",
                           name=op.f("ck_shipping_methods_free_above_not_negative")),
        sa.ForeignKeyConstraint(["zone_id"], ["shipping_zones.id"], ondelete="CASCADE",
                                name=op.f("fk_shipping_methods_zone_id_shipping_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_methods")),
    )
    op.create_index(op.f("ix_shipping_methods_zone_id"), "shipping_methods", ["zone_id"])
    flag = sa.column("is_default")
    op.create_index("uq_shipping_methods_default", "shipping_methods", ["is_default"], unique=True,
                    postgresql_where=flag, sqlite_where=flag)
    op.create_table(
        "shipping_weight_bands",
        sa.Column("method_id", sa.Integer(), nullable=False),
        sa.Column("up_to_grams", sa.Integer(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.CheckConstraint("up_to_grams >= 1", name=op.f("ck_shipping_weight_bands_up_to_positive")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_shipping_weight_bands_price_not_negative")),
        sa.ForeignKeyConstraint(["method_id"], ["shipping_methods.id"], ondelete="CASCADE",
                                name=op.f("fk_shipping_weight_bands_method_id_shipping_methods")),
        sa.PrimaryKeyConstraint("method_id", "up_to_grams", name=op.f("pk_shipping_weight_bands")),
    )
    op.create_table(
        "shipping_product_weights",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("weight_grams", sa.Integer(), nullable=False),
        sa.CheckConstraint("weight_grams >= 0", name=op.f("ck_shipping_product_weights_weight_not_negative")),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_shipping_product_weights")),
    )


def downgrade() -> None:
    op.drop_table("shipping_product_weights")
    op.drop_table("shipping_weight_bands")
    op.drop_index("uq_shipping_methods_default", table_name="shipping_methods")
    op.drop_table("shipping_methods")
    op.drop_table("shipping_zone_countries")
    op.drop_table("shipping_zones")
