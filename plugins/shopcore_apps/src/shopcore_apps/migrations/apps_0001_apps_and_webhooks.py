"""apps: apps with hashed keys, webhook subscriptions, webhook deliveries

Revision ID: apps_0001
Revises:
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa

revision = "apps_0001"
down_revision = None
branch_labels = ("apps",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "apps_apps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["core_users.id"], name=op.f("fk_apps_apps_created_by_core_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apps_apps")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_apps_apps_key_hash")),
    )
    op.create_table(
        "apps_webhook_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("previous_secret", sa.String(200), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps_apps.id"], name="fk_apps_webhook_subscriptions_app",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apps_webhook_subscriptions")),
    )
    op.create_index("ix_apps_webhook_subscriptions_app_id", "apps_webhook_subscriptions", ["app_id"])
    op.create_table(
        "apps_webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'cancelled')",
                           name=op.f("ck_apps_webhook_deliveries_status")),
        sa.ForeignKeyConstraint(["subscription_id"], ["apps_webhook_subscriptions.id"],
                                name="fk_apps_webhook_deliveries_subscription",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apps_webhook_deliveries")),
    )
    op.create_index("ix_apps_webhook_deliveries_subscription_id_created_at", "apps_webhook_deliveries",
                    ["subscription_id", "created_at"])
    op.create_index("ix_apps_webhook_deliveries_created_at", "apps_webhook_deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_table("apps_webhook_deliveries")
    op.drop_table("apps_webhook_subscriptions")
    op.drop_table("apps_apps")
