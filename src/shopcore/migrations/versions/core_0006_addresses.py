"""core: the customers' address book

Revision ID: core_0006_addresses
Revises: core_0005_audit_log
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0006_addresses"
down_revision = "core_0005_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("line1", sa.String(100), nullable=False),
        sa.Column("line2", sa.String(100), nullable=False),
        sa.Column("city", sa.String(60), nullable=False),
        sa.Column("region", sa.String(50), nullable=False),
        sa.Column("postal_code", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("is_default_shipping", sa.Boolean(), nullable=False),
        sa.Column("is_default_billing", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_core_addresses"),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], ondelete="CASCADE",
                                name="fk_core_addresses_user_id_core_users"),
    )
    op.create_index("ix_core_addresses_user_id", "core_addresses", ["user_id"])
    for kind in ("shipping", "billing"):
        flag = sa.column(f"is_default_{kind}")
        op.create_index(f"uq_core_addresses_default_{kind}", "core_addresses", ["user_id"], unique=True,
                        postgresql_where=flag, sqlite_where=flag)


def downgrade() -> None:
    op.drop_index("uq_core_addresses_default_billing", table_name="core_addresses")
    op.drop_index("uq_core_addresses_default_shipping", table_name="core_addresses")
    op.drop_index("ix_core_addresses_user_id", table_name="core_addresses")
    op.drop_table("core_addresses")
