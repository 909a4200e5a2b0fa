"""The payments plugin's events, emitted with `request.notify` in the transaction that made the change.

- `OrderRefunded` (an order event: `shopcore_orders.events.OrderEvent`, so a subscriber to every order
  event gets it too): money of an order was given back through its provider, by an admin's refund
  or an approved return. It carries the order's own fields (`order_id`, `user_id`, `total_price`,
  `lines`) and the refund's: `refund_id`, `amount` (this refund), `refunded_total` and
  `captured_total` (so far, for the order), `status` (the order's new one: `partially_refunded` or
  `refunded`), `reason`, `refund_lines` (`RefundedLine`: the order line, its product, how many and
  for how much; empty for a refund of an amount), `return_id` (None unless a return was approved),
  `provider` and `currency`.
- `ReturnRequested`, `ReturnApproved`, `ReturnRejected`: a customer's return of delivered lines and
  the admin's decision (`return_id`, `order_id`, `user_id`, `reason`, `lines` as `ReturnedLine`;
  approved: `refund_id`, `amount`, `restocked`; rejected: `note`).
- `PaymentReleased`: a payment that arrived for an order that could no longer take it (cancelled,
  or paid by another payment) was voided at its provider, or refunded in full when the provider
  had already taken the money (`refunded` says which). No mail: the customer had the order's own.

The notifications plugin mails the customer on `OrderRefunded`, `ReturnRequested` and `ReturnRejected`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shopcore.events import ShopEvent
from shopcore_orders.events import OrderEvent

__all__ = ["OrderRefunded", "PaymentReleased", "RefundedLine", "ReturnApproved", "ReturnEvent", "ReturnRejected",
           "ReturnRequested", "ReturnedLine"]


@dataclass(frozen=True)
class RefundedLine:
    """A line of a refund: the order line (its `id` in order bodies), its product, units and amount."""

    order_line_id: int
    product_id: int
    quantity: int
    amount: Decimal


@dataclass(frozen=True)
class OrderRefunded(OrderEvent):
    refund_id: int
    amount: Decimal
    refunded_total: Decimal
    captured_total: Decimal
    status: str
    reason: str
    refund_lines: tuple[RefundedLine, ...]
    return_id: int | None
    provider: str
    currency: str


@dataclass(frozen=True)
class ReturnedLine:
    """A line of a return: the order line, its product (name as bought), how many units."""

    order_line_id: int
    product_id: int
    product_name: str
    quantity: int


@dataclass(frozen=True)
class ReturnEvent(ShopEvent):
    return_id: int
    order_id: int
    user_id: int
    reason: str
    lines: tuple[ReturnedLine, ...]


@dataclass(frozen=True)
class ReturnRequested(ReturnEvent):
    """A customer asked to return lines of a delivered order."""


@dataclass(frozen=True)
class ReturnApproved(ReturnEvent):
    """An admin approved a return: its lines were refunded (`OrderRefunded` follows) and maybe restocked."""

    refund_id: int
    amount: Decimal
    restocked: bool


@dataclass(frozen=True)
class ReturnRejected(ReturnEvent):
    """An admin rejected a return; `note` says why."""

    note: str


@dataclass(frozen=True)
class PaymentReleased(ShopEvent):
    payment_id: int
    order_id: int
    user_id: int
    provider: str
    amount: Decimal
    refunded: bool
