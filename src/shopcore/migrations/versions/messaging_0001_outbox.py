"""messaging: the transactional outbox

Revision ID: messaging_0001
Revises:
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = "messaging_0001"
down_revision = None
branch_labels = ("messaging",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_core_outbox"),
        sa.CheckConstraint("status IN ('pending', 'published', 'done', 'failed')", name="ck_core_outbox_status"),
    )
    op.create_index("ix_core_outbox_status_available_at", "core_outbox", ["status", "available_at"])


def downgrade() -> None:
    op.drop_index("ix_core_outbox_status_available_at", table_name="core_outbox")
    op.drop_table("core_outbox")
