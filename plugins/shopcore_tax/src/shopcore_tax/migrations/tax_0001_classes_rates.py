"""tax: classes (standard, reduced, zero to begin with), rates, product classes

Revision ID: tax_0001
Revises:
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa

revision = "tax_0001"
down_revision = None
branch_labels = ("tax",)
depends_on = None


def upgrade() -> None:
    classes = op.create_table(
        "tax_classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_classes")),
        sa.UniqueConstraint("code", name=op.f("uq_tax_classes_code")),
    )
    op.create_table(
        "tax_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tax_class_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("region", sa.String(50), nullable=False),
        sa.Column("rate", sa.Numeric(6, 3), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.CheckConstraint("rate >= 0 AND rate <= 100", name=op.f("ck_tax_rates_rate_range")),
        sa.ForeignKeyConstraint(["tax_class_id"], ["tax_classes.id"], ondelete="CASCADE",
                                name=op.f("fk_tax_rates_tax_class_id_tax_classes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
        sa.UniqueConstraint("tax_class_id", "country", "region", name="uq_tax_rates_class_place"),
    )
    op.create_index(op.f("ix_tax_rates_tax_class_id"), "tax_rates", ["tax_class_id"])
    op.create_table(
        "tax_product_classes",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("tax_class_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tax_class_id"], ["tax_classes.id"], ondelete="CASCADE",
                                name=op.f("fk_tax_product_classes_tax_class_id_tax_classes")),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_tax_product_classes")),
    )
    op.create_index(op.f("ix_tax_product_classes_tax_class_id"), "tax_product_classes", ["tax_class_id"])
    # The classes every shop starts with; an admin adds more. No rates: they are the shop's own.
    op.bulk_insert(classes, [{"code": "standard", "name": "Standard rate"},
                             {"code": "reduced", "name": "Reduced rate"},
                             {"code": "zero", "name": "Zero rate"}])


def downgrade() -> None:
    op.drop_table("tax_product_classes")
    op.drop_table("tax_rates")
    op.drop_table("tax_classes")
