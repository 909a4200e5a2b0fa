"""The orders plugin's extension points, `orders.checkout_validators`, `orders.order_placed` and `orders.pay`
(see shopcore_orders.api)."""
from __future__ import annotations

from shopcore.errors import Conflict

CHECKOUT_VALIDATORS = "orders.checkout_validators"
CHECKOUT_VALIDATORS_DOC = """Checking out
`implementation(request, cart: CartSnapshot) -> None`, called inside the checkout transaction after
the cart is priced and before any stock is taken. Raise `CheckoutRefused(reason)` to refuse the
checkout with a 409 carrying the reason. It may write (count a coupon use with a conditional
UPDATE): if a later step fails, the write rolls back with the checkout.
"""
ORDER_PLACED = "orders.order_placed"
ORDER_PLACED_DOC = """Placing the order
`implementation(request, order, cart: CartSnapshot) -> None`, called inside the checkout transaction
once stock is taken and the order, its lines and adjustments are written (flushed), so a plugin can
record rows of its own atomically with the order. Read `order.id`, `order.user_id`,
`order.subtotal`, `order.total_price`; do not change the order.
"""
PAY_ORDER = "orders.pay"
PAY_ORDER_DOC = """Taking the payment
`implementation(request, order_id: int, user_id: int) -> dict | None`, called by `POST /api/orders/{id}/pay/`
(`OrderService.pay`) for the order `order_id` of the customer `user_id`, in the request's transaction.
An implementation that takes the payment (a payment provider's) checks the order is the customer's,
marks it paid with `OrderService.mark_paid` once the money is taken, and returns the response body
(`{"detail": ...}`); the implementations after it are not asked. One returning None leaves the payment
to the next; when none takes it, the orders plugin's own simulation marks the order paid, as the seed
does. Raise a `ShopError` to refuse (a 409 when the payment is not authorised yet).
"""
# Both run inside the checkout transaction and may wait on a row lock under contention.
CHECKOUT_BUDGET = 10.0
# Taking a payment may call a payment provider over the network (its own timeouts are shorter).
PAY_BUDGET = 60.0


class CheckoutRefused(Conflict):
    """Raised by a checkout validator; the checkout answers 409 with `reason` as its detail."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def declare_points(config) -> None:
    config.add_extension_point(CHECKOUT_VALIDATORS, doc=CHECKOUT_VALIDATORS_DOC, budget_seconds=CHECKOUT_BUDGET,
                               failure="block")
    config.add_extension_point(ORDER_PLACED, doc=ORDER_PLACED_DOC, budget_seconds=CHECKOUT_BUDGET, failure="block")
    config.add_extension_point(PAY_ORDER, doc=PAY_ORDER_DOC, budget_seconds=PAY_BUDGET, failure="block")
