"""core: password resets, revoked tokens, case-insensitive usernames

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_core_users_username_lower", "core_users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "core_password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_core_password_resets"),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], ondelete="CASCADE",
                                name="fk_core_password_resets_user_id_core_users"),
        sa.UniqueConstraint("token_hash", name="uq_core_password_resets_token_hash"),
    )
    op.create_index("ix_core_password_resets_user_id", "core_password_resets", ["user_id"])
    op.create_table(
        "core_revoked_tokens",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_core_revoked_tokens"),
    )
    op.create_index("ix_core_revoked_tokens_expires_at", "core_revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_core_revoked_tokens_expires_at", table_name="core_revoked_tokens")
    op.drop_table("core_revoked_tokens")
    op.drop_index("ix_core_password_resets_user_id", table_name="core_password_resets")
    op.drop_table("core_password_resets")
    op.drop_index("uq_core_users_username_lower", table_name="core_users")
