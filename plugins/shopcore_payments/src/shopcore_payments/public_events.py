"""The payments plugin's public events (`config.add_public_event`): what a webhook receiver learns of refunds
and returns. Payloads are built in the changing transaction.

- `order.refunded` (`OrderRefunded`): like the orders plugin's order events, `order_id` and the whole
  `order` as it now is (its status `partially_refunded` or `refunded`), and the `refund`: `id`, `amount`
  (this refund), `refunded_total` and `captured_total` (so far), `lines` (`item`, `product`, `quantity`,
  `amount`; empty for an amount), `return` (the approved return's id, or null), `provider`, `currency`.
- `return.requested`, `return.approved`, `return.rejected`: `return_id`, `order_id`, `user_id`, `lines`
  (`item`, `product`, `product_name`, `quantity`); approved also `refund_id`, `amount`, `restocked`.

No reason and no note: they are free text, a return's written by the customer, and a receiver that wants
them reads the order (`GET /api/orders/{id}/`, its `refunds` and `returns`) with the `orders:read` scope.
"""
from __future__ import annotations

from shopcore.public_events import jsonable
from shopcore_orders.api import OrderService

from shopcore_payments.events import OrderRefunded, ReturnApproved, ReturnRejected, ReturnRequested


def order_refunded(request, event: OrderRefunded) -> dict:
    return {
        "order_id": event.order_id,
        "order": jsonable(request.find_service(OrderService).order_summary(event.order_id)),
        "refund": {"id": event.refund_id, "amount": jsonable(event.amount),
                   "refunded_total": jsonable(event.refunded_total), "captured_total": jsonable(event.captured_total),
                   "lines": [{"item": line.order_line_id, "product": line.product_id, "quantity": line.quantity,
                              "amount": jsonable(line.amount)} for line in event.refund_lines],
                   "return": event.return_id, "provider": event.provider, "currency": event.currency},
    }


def return_event(request, event) -> dict:
    body = {"return_id": event.return_id, "order_id": event.order_id, "user_id": event.user_id,
            "lines": [{"item": line.order_line_id, "product": line.product_id, "product_name": line.product_name,
                       "quantity": line.quantity} for line in event.lines]}
    if isinstance(event, ReturnApproved):
        body.update(refund_id=event.refund_id, amount=jsonable(event.amount), restocked=event.restocked)
    return body


PUBLIC_EVENTS = (
    ("order.refunded", OrderRefunded, order_refunded,
     "Money of an order was given back (an admin's refund, or an approved return's). Payload: order_id, order "
     "(the order's API body with user_id, as it now is), refund (id, amount, refunded_total, captured_total, "
     "lines, return, provider, currency)."),
    ("return.requested", ReturnRequested, return_event,
     "A customer asked to return lines of a delivered order. Payload: return_id, order_id, user_id, lines."),
    ("return.approved", ReturnApproved, return_event,
     "A return was approved: its lines were refunded (with an order.refunded) and maybe put back in stock. "
     "Payload: return_id, order_id, user_id, lines, refund_id, amount, restocked."),
    ("return.rejected", ReturnRejected, return_event,
     "A return was rejected. Payload: return_id, order_id, user_id, lines."),
)


def declare_public_events(config) -> None:
    for name, event_type, payload, description in PUBLIC_EVENTS:
        config.add_public_event(name, event_type, payload, description=description)
