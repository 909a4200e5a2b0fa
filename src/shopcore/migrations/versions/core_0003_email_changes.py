"""core: e-mail changes confirmed by link, username keys and skeletons

Revision ID: core_0003_email_changes
Revises: core_0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0003_email_changes"
down_revision = "core_0002"
branch_labels = None
depends_on = None


def _backfill_usernames(connection) -> None:
    from shopcore.accounts.usernames import canonical_username, username_key, username_skeleton

    users = sa.table("core_users", sa.column("id", sa.Integer), sa.column("username", sa.String),
                     sa.column("username_key", sa.String), sa.column("username_skeleton", sa.String))
    rows = connection.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all()
    owners: dict[str, str] = {}
    for user_id, username in rows:
        key = username_key(username)
        if key in owners:
            # Two accounts the new rules take for one: a person must decide which to rename.
            raise RuntimeError(f"usernames {owners[key]!r} and {username!r} differ only in case or compatibility "
                               f"form; rename one of them (UPDATE core_users SET username = ...) and migrate again")
        owners[key] = username
        connection.execute(sa.update(users).where(users.c.id == user_id).values(
            username=canonical_username(username), username_key=key, username_skeleton=username_skeleton(username)))


def upgrade() -> None:
    # Added nullable and filled in Python (the folding is Python's, not the database's). PostgreSQL then
    # makes them NOT NULL; SQLite cannot without rebuilding core_users, whose rebuild with foreign keys
    # on would cascade into its children, so there the application alone guarantees them.
    op.add_column("core_users", sa.Column("username_key", sa.String(600), nullable=True))
    op.add_column("core_users", sa.Column("username_skeleton", sa.String(600), nullable=True))
    connection = op.get_bind()
    _backfill_usernames(connection)
    if connection.dialect.name == "postgresql":
        op.alter_column("core_users", "username_key", nullable=False)
        op.alter_column("core_users", "username_skeleton", nullable=False)
    op.create_index("uq_core_users_username_key", "core_users", ["username_key"], unique=True)
    op.create_index("ix_core_users_username_skeleton", "core_users", ["username_skeleton"])
    op.create_table(
        "core_email_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("old_email", sa.String(254), nullable=False),
        sa.Column("new_email", sa.String(254), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undo_token_hash", sa.String(64), nullable=True),
        sa.Column("undo_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_core_email_changes"),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], ondelete="CASCADE",
                                name="fk_core_email_changes_user_id_core_users"),
        sa.UniqueConstraint("token_hash", name="uq_core_email_changes_token_hash"),
        sa.UniqueConstraint("undo_token_hash", name="uq_core_email_changes_undo_token_hash"),
    )
    op.create_index("ix_core_email_changes_user_id", "core_email_changes", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_core_email_changes_user_id", table_name="core_email_changes")
    op.drop_table("core_email_changes")
    op.drop_index("ix_core_users_username_skeleton", table_name="core_users")
    op.drop_index("uq_core_users_username_key", table_name="core_users")
    op.drop_column("core_users", "username_skeleton")
    op.drop_column("core_users", "username_key")
