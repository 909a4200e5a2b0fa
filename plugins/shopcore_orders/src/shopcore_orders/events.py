"""Order events, emitted with `request.notify` by the orders service, in the transaction that made the change.

Every order event carries what a subscriber needs without asking the orders service again: the
order's id, its customer, its `total_price` (after adjustments) and its `lines` (product, quantity
and the unit price paid, copied at checkout).

Subscribe in the transaction (`after_commit=False`) to write rows that must commit with the order
(the notifications plugin writes its outbox row so), or after commit for reactions that may fail alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shopcore.events import ShopEvent

__all__ = ["OrderCancelled", "OrderDelivered", "OrderEvent", "OrderEventLine", "OrderPaid", "OrderPlaced",
           "OrderShipped"]


@dataclass(frozen=True)
class OrderEventLine:
    """One line of the order: the catalog's product id, how many, and the unit price of checkout."""

    product_id: int
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class OrderEvent(ShopEvent):
    order_id: int
    user_id: int
    total_price: Decimal
    lines: tuple[OrderEventLine, ...]


@dataclass(frozen=True)
class OrderPlaced(OrderEvent):
    """A pending order was made from the cart (stock taken)."""


@dataclass(frozen=True)
class OrderPaid(OrderEvent):
    pass


@dataclass(frozen=True)
class OrderCancelled(OrderEvent):
    """Cancelled while pending; its units are back in stock."""


@dataclass(frozen=True)
class OrderExpired(OrderCancelled):
    """A pending order left unpaid past `shopcore.orders.pending_ttl`, cancelled by the shop.

    An `OrderCancelled` too (its status is `cancelled` and its stock is back), so subscribers to
    cancellations (the coupons giving back their use) react to it without knowing it.
    """


@dataclass(frozen=True)
class OrderShipped(OrderEvent):
    pass


@dataclass(frozen=True)
class OrderDelivered(OrderEvent):
    pass
