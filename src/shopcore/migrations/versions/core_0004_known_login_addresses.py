"""core: addresses each account has logged in from (failed logins elsewhere do not pause them)

Revision ID: core_0004_known_login_addresses
Revises: core_0003_email_changes
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0004_known_login_addresses"
down_revision = "core_0003_email_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_known_login_addresses",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("first_login_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "address_hash", name="pk_core_known_login_addresses"),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], ondelete="CASCADE",
                                name="fk_core_known_login_addresses_user_id_core_users"),
    )


def downgrade() -> None:
    op.drop_table("core_known_login_addresses")
