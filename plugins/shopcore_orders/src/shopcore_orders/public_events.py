"""The orders plugin's public events (`config.add_public_event`): each carries the whole order as it is
after the change (the order's API body with `user_id`, read in the changing transaction)."""
from __future__ import annotations

from shopcore.public_events import jsonable

from shopcore_orders.api import OrderService
from shopcore_orders.events import OrderCancelled, OrderDelivered, OrderPaid, OrderPlaced, OrderShipped


def order_payload(request, event) -> dict:
    return {"order_id": event.order_id, "order": jsonable(request.find_service(OrderService).order_summary(event.order_id))}


PUBLIC_EVENTS = (
    ("order.created", OrderPlaced, "An order was placed at checkout (status pending)."),
    ("order.paid", OrderPaid, "An order was paid."),
    ("order.cancelled", OrderCancelled, "An order was cancelled, by its customer or, unpaid too long, by the shop."),
    ("order.shipped", OrderShipped, "An order was shipped."),
    ("order.delivered", OrderDelivered, "An order was delivered."),
)


def declare_public_events(config) -> None:
    for name, event_type, description in PUBLIC_EVENTS:
        config.add_public_event(name, event_type, order_payload,
                                description=f"{description} Payload: order_id, order (the order's API body "
                                            f"with user_id, as it now is).")
