"""orders: the totals' parts, the shipping method, the addresses and the tax lines kept with each order

Revision ID: orders_0003
Revises: orders_0002
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa

revision = "orders_0003"
down_revision = "orders_0002"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)
AMOUNTS = ("discount_total", "fee_total", "shipping_total", "tax_total", "tax_included")
COPIES = ("shipping_method", "shipping_address_details", "billing_address", "tax_lines")


def upgrade() -> None:
    # Orders placed before have no shipping, tax or copies: zeros and nulls say exactly that. Their
    # net adjustment is recomputed from subtotal and total (no shipping or tax then), as a discount
    # or a fee, so that their parts add up to their total like every new order's.
    with op.batch_alter_table("orders_orders") as batch:
        for name in AMOUNTS:
            batch.add_column(sa.Column(name, MONEY, nullable=False, server_default="0"))
        for name in COPIES:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=True))
    orders = sa.table("orders_orders", sa.column("subtotal", MONEY), sa.column("total_price", MONEY),
                      sa.column("discount_total", MONEY), sa.column("fee_total", MONEY))
    op.execute(orders.update().where(orders.c.total_price < orders.c.subtotal)
               .values(discount_total=orders.c.subtotal - orders.c.total_price))
    op.execute(orders.update().where(orders.c.total_price > orders.c.subtotal)
               .values(fee_total=orders.c.total_price - orders.c.subtotal))


def downgrade() -> None:
    with op.batch_alter_table("orders_orders") as batch:
        for name in AMOUNTS + COPIES:
            batch.drop_column(name)
