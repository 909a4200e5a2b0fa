"""orders: refund states, shipping and delivery moments; the Idempotency-Keys move to the core

- `partially_refunded` and `refunded` join the statuses (the column grows to 20 characters);
- `shipped_at` and `delivered_at` keep the fulfilment once a refund changes the status, and date a
  return's window; orders already shipped or delivered take their last change as that moment;
- `orders_idempotency_keys` is copied into the core's `core_idempotency_keys` (`idempotency_0001`)
  and dropped, so a key sent before the upgrade still replays after it.

Revision ID: orders_0002
Revises: orders_0001
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = "orders_0002"
down_revision = "orders_0001"
branch_labels = None
depends_on = "idempotency_0001"

OLD_STATUSES = ("pending", "paid", "cancelled", "shipped", "delivered")
NEW_STATUSES = OLD_STATUSES + ("partially_refunded", "refunded")
# SQLite rebuilds the table (batch mode); the tables it references need not be reflected for that.
REFLECT = {"resolve_fks": False}
KEY_COLUMNS = "user_id, key, fingerprint, state, response_status, response_body, created_at"


def status_check(statuses) -> str:
    return "status IN ({})".format(", ".join(f"'{status}'" for status in statuses))


def upgrade() -> None:
    with op.batch_alter_table("orders_orders", reflect_kwargs=REFLECT) as batch:
        batch.drop_constraint(op.f("ck_orders_orders_status_known"), type_="check")
        batch.alter_column("status", type_=sa.String(20), existing_type=sa.String(16), existing_nullable=False)
        batch.add_column(sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(op.f("ck_orders_orders_status_known"), status_check(NEW_STATUSES))
    op.execute("UPDATE orders_orders SET shipped_at = updated_at WHERE status IN ('shipped', 'delivered')")
    op.execute("UPDATE orders_orders SET delivered_at = updated_at WHERE status = 'delivered'")

    op.execute(f"INSERT INTO core_idempotency_keys ({KEY_COLUMNS}) SELECT {KEY_COLUMNS} FROM orders_idempotency_keys")
    op.drop_table("orders_idempotency_keys")


def downgrade() -> None:
    op.create_table(
        "orders_idempotency_keys",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('started', 'completed')", name=op.f("ck_orders_idempotency_keys_state_known")),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name="fk_orders_idempotency_keys_user_id_core_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_orders_idempotency_keys"),
    )
    op.create_index("ix_orders_idempotency_keys_created", "orders_idempotency_keys", ["created_at"])
    # The core keeps its table (other endpoints use it too); the orders plugin gets a copy back.
    op.execute(f"INSERT INTO orders_idempotency_keys ({KEY_COLUMNS}) SELECT {KEY_COLUMNS} FROM core_idempotency_keys")

    # Refunded orders had been paid: they go back to the last state the old schema knows for them.
    op.execute("UPDATE orders_orders SET status = CASE WHEN delivered_at IS NOT NULL THEN 'delivered' "
               "WHEN shipped_at IS NOT NULL THEN 'shipped' ELSE 'paid' END "
               "WHERE status IN ('partially_refunded', 'refunded')")
    with op.batch_alter_table("orders_orders", reflect_kwargs=REFLECT) as batch:
        batch.drop_constraint(op.f("ck_orders_orders_status_known"), type_="check")
        batch.drop_column("delivered_at")
        batch.drop_column("shipped_at")
        batch.alter_column("status", type_=sa.String(16), existing_type=sa.String(20), existing_nullable=False)
        batch.create_check_constraint(op.f("ck_orders_orders_status_known"), status_check(OLD_STATUSES))
