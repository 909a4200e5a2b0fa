"""Orders metrics for `/metrics`: orders placed and order state changes, counted after commit."""
from __future__ import annotations

from prometheus_client import Counter

from shopcore_orders.events import (OrderCancelled, OrderDelivered, OrderEvent, OrderExpired, OrderPaid, OrderPlaced,
                                    OrderShipped)

ORDER_EVENTS = Counter("shopcore_orders_events_total", "Committed order events, by kind.", ["event"])
EVENT_NAMES = {OrderPlaced: "placed", OrderPaid: "paid", OrderCancelled: "cancelled", OrderShipped: "shipped",
               OrderDelivered: "delivered", OrderExpired: "expired"}


def count_order_event(request, event: OrderEvent) -> None:
    ORDER_EVENTS.labels(EVENT_NAMES.get(type(event), type(event).__name__)).inc()


def includeme(config) -> None:
    config.add_event_subscriber(count_order_event, OrderEvent, after_commit=True)
