"""The cart plugin's part of a customer's personal data: the cart's lines, exported, and emptied on erasure."""
from __future__ import annotations

from sqlalchemy import delete, select

from shopcore_cart.models import CartItem


def export_cart(request, user_id: int) -> dict:
    items = request.dbsession.scalars(select(CartItem).where(CartItem.user_id == user_id).order_by(CartItem.id))
    return {"cart": [{"product_id": item.product_id, "quantity": item.quantity, "added_at": item.created_at,
                      "updated_at": item.updated_at} for item in items]}


def erase_cart(request, user_id: int) -> None:
    request.dbsession.execute(delete(CartItem).where(CartItem.user_id == user_id))
