"""The orders plugin's public surface for other plugins: its service, its events, the hooks it calls.

    orders = request.find_service(name="orders")     # an OrderService bound to this request

- `order_summary(order_id) -> dict`: `id`, `user_id`, `status`, `subtotal`, `total_price`
  (Decimal), `shipping_address`, `payment_method`, `items` (`product`, `product_name`, `quantity`,
  `price`), `adjustments` (`label`, `amount`), `created_at`, `updated_at`. Uncached: safe inside
  the transaction that changed the order (the notifications plugin mails from it).
- `place_order(user_id, shipping_address, payment_method) -> dict`: checkout of the user's cart,
  all or nothing in the caller's transaction (an exception means the caller must roll back).
- `get_order(viewer_id, order_id, is_admin=False)`, `list_orders(viewer_id, is_admin=..., page=...,
  page_size=..., status=..., user=...)`: cached per user, invalidated by every change.
- `pay(user_id, order_id)`, `cancel(user_id, order_id)`, `set_status(order_id, "shipped" |
  "delivered")`, `update_order(user_id, order_id, changes)`.
- `is_product_referenced(product_id) -> bool`.

States: pending -> paid | cancelled; paid -> shipped -> delivered. Each move is one conditional
UPDATE on the current status, so racing moves leave exactly one applied; any other move raises a
`Conflict` (409) naming the current state. Cancelling puts the units back in stock.

Events (`shopcore_orders.events`, fields `order_id`, `user_id`), emitted with `request.notify`:
`OrderPlaced`, `OrderPaid`, `OrderCancelled`, `OrderShipped`, `OrderDelivered`. Subscribe in the
transaction to write rows that must commit with the order, or after commit to react.

Extension points checkout calls, in this order, all inside its transaction: the cart's
`cart.price_adjustments(request, cart)` (through the cart service; the adjustments are copied into
the order), its own `orders.checkout_validators(request, cart)` before any stock is taken (raise
`CheckoutRefused` for a 409), then, after the order and its lines are written,
`orders.order_placed(request, order, cart)` where `order` is the `Order` row (`id`, `user_id`,
`status`, `subtotal`, `total_price`, ...). The plugin answers the catalog's
`catalog.product_referenced` for products its order lines keep.
"""
from shopcore_orders.events import OrderCancelled, OrderDelivered, OrderEvent, OrderPaid, OrderPlaced, OrderShipped
from shopcore_orders.points import CHECKOUT_VALIDATORS, ORDER_PLACED, CheckoutRefused
from shopcore_orders.services import OrderService

__all__ = ["CHECKOUT_VALIDATORS", "ORDER_PLACED", "CheckoutRefused", "OrderCancelled", "OrderDelivered", "OrderEvent", "OrderPaid", "OrderPlaced", "OrderService",
           "OrderShipped"]
