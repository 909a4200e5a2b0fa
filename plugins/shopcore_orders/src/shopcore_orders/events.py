"""Order events, emitted with `request.notify` by the orders services.

Subscribe in the transaction (`after_commit=False`) to write rows that must commit with the order
(the notifications plugin writes its outbox row so), or after commit for reactions that may fail alone.
"""
from __future__ import annotations

from dataclasses import dataclass

from shopcore.events import ShopEvent


@dataclass(frozen=True)
class OrderEvent(ShopEvent):
    order_id: int
    user_id: int


@dataclass(frozen=True)
class OrderPlaced(OrderEvent):
    pass


@dataclass(frozen=True)
class OrderPaid(OrderEvent):
    pass


@dataclass(frozen=True)
class OrderCancelled(OrderEvent):
    pass


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
