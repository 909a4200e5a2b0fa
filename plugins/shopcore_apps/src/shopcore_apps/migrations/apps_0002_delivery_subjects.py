"""apps: a delivery names the customer its event is about, so erasing the customer finds their deliveries

An event's body can carry the customer's data (an order's addresses); deliveries made before this
revision name nobody (their event's customer was not kept) and leave the log with its 30-day purge.

Revision ID: apps_0002
Revises: apps_0001
Create Date: 2026-12-12
"""
from alembic import op
import sqlalchemy as sa

revision = "apps_0002"
down_revision = "apps_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("apps_webhook_deliveries", sa.Column("subject_user_id", sa.Integer(), nullable=True))
    op.create_index("ix_apps_webhook_deliveries_subject_user_id", "apps_webhook_deliveries", ["subject_user_id"])


def downgrade() -> None:
    op.drop_index("ix_apps_webhook_deliveries_subject_user_id", table_name="apps_webhook_deliveries")
    with op.batch_alter_table("apps_webhook_deliveries") as batch:
        batch.drop_column("subject_user_id")
