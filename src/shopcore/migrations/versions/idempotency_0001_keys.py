"""idempotency: the core's Idempotency-Key table (it was the orders plugin's `orders_idempotency_keys`)

A branch of its own, like `messaging`: the keys belong to every endpoint that honours the header,
whichever plugins are enabled. The orders plugin's `orders_0002` moves its keys here.

Revision ID: idempotency_0001
Revises:
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = "idempotency_0001"
down_revision = None
branch_labels = ("idempotency",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "core_idempotency_keys",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('started', 'completed')", name=op.f("ck_core_idempotency_keys_state_known")),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name="fk_core_idempotency_keys_user_id_core_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_core_idempotency_keys"),
    )
    op.create_index("ix_core_idempotency_keys_created", "core_idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("core_idempotency_keys")
