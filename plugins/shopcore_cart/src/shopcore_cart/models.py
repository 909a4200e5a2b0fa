"""Cart table: one row per (customer, variant) with the quantity wanted; prices are never stored here."""
from __future__ import annotations

import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base

# Largest quantity one cart line may hold, whatever the stock.
MAX_LINE_QUANTITY = 1000


class CartItem(Base):
    __tablename__ = "cart_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), nullable=False)
    # The catalog's product id; no foreign key: plugins reach each other through services only.
    product_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # The catalog's variant id (a product without options has one); no foreign key either.
    variant_id: Mapped[int] = mapped_column(Integer, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow,
                                                          onupdate=utcnow)

    __table_args__ = (
        # One line per variant: adding a variant again adds to that line (an upsert relies on it).
        UniqueConstraint("user_id", "variant_id", name="uq_cart_items_user_variant"),
        CheckConstraint(f"quantity >= 1 AND quantity <= {MAX_LINE_QUANTITY}", name="quantity_range"),
    )
