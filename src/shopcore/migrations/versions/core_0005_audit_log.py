"""core: the audit log, append-only (on PostgreSQL a trigger refuses updates and deletes)

Revision ID: core_0005_audit_log
Revises: core_0004_known_login_addresses
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0005_audit_log"
down_revision = "core_0004_known_login_addresses"
branch_labels = None
depends_on = None

# The message names the table, so whoever meets it (an operator's UPDATE, a bug) knows why.
REFUSE_CHANGES = """
CREATE FUNCTION core_audit_entries_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_audit_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "core_audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("object_type", sa.String(100), nullable=False),
        sa.Column("object_id", sa.String(100), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_core_audit_entries"),
    )
    op.create_index("ix_core_audit_entries_occurred", "core_audit_entries", ["occurred_at", "id"])
    op.create_index("ix_core_audit_entries_actor", "core_audit_entries", ["actor_id", "occurred_at"])
    op.create_index("ix_core_audit_entries_object", "core_audit_entries", ["object_type", "object_id", "occurred_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_CHANGES)
        op.execute("CREATE TRIGGER core_audit_entries_append_only BEFORE UPDATE OR DELETE ON core_audit_entries "
                   "FOR EACH ROW EXECUTE FUNCTION core_audit_entries_refuse_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER core_audit_entries_append_only ON core_audit_entries")
        op.execute("DROP FUNCTION core_audit_entries_refuse_change()")
    op.drop_index("ix_core_audit_entries_object", table_name="core_audit_entries")
    op.drop_index("ix_core_audit_entries_actor", table_name="core_audit_entries")
    op.drop_index("ix_core_audit_entries_occurred", table_name="core_audit_entries")
    op.drop_table("core_audit_entries")
