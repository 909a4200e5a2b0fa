"""The orders plugin's public surface for other plugins: the `OrderService` interface and its events.

    from shopcore_orders.api import OrderService

    orders = request.find_service(OrderService)     # bound to this request and its transaction

States (the diagram is in docs/orders.md): pending -> paid | cancelled; paid -> shipped -> delivered;
paid, shipped, delivered or partially_refunded -> partially_refunded | refunded (the payments plugin's
refunds, contract 2.1). A partially refunded order may still be shipped (if it was not) and delivered
(if shipped): `shipped_at` and `delivered_at` keep the fulfilment. Each move is one conditional
UPDATE on the current status, so racing moves leave exactly one applied; any other move raises a
`Conflict` (409) naming the current state. Cancelling puts the units back in stock.

Events (`shopcore_orders.events`, emitted with `request.notify`): `OrderPlaced`, `OrderPaid`,
`OrderCancelled`, `OrderShipped`, `OrderDelivered`, each with `order_id`, `user_id`, `total_price`
and `lines` (`OrderEventLine(product_id, quantity, unit_price)`).

An order as the methods return it is a dict: `id`, `user` (the customer's id), `status`, `subtotal`,
`total_price` (Decimal: what the customer pays), `totals` (`subtotal`, `discount`, `fees`, `shipping`,
`tax`, `tax_included`, `total`), `shipping_method` (`id`, `name`, `price`, or None), `tax_lines`
(`line`, `label`, `rate`, `amount`, `included`), `shipping_address` (text), `shipping_address_details`
and `billing_address` (the structured copies, or None), `payment_method`, `items` (`id` of the line,
`product`, `product_name`, `quantity`, `price`), `adjustments` (`label`, `amount`), `created_at`,
`updated_at`, `shipped_at`, `delivered_at` (aware UTC, None until then). The body `orders.order`
(`get_order`, `list_orders`) is extensible: other plugins add fields to it (`config.add_body_extension`).

Extension points checkout calls, in this order, all inside its transaction: the cart's
`cart.price_adjustments(request, cart)` (through the cart service; the adjustments are copied into
the order), its own `orders.checkout_validators(request, cart)` before any stock is taken (raise
`CheckoutRefused` for a 409), then, after the order and its lines are written,
`orders.order_placed(request, order, cart)` where `order` is the `Order` row (`id`, `user_id`,
`status`, `subtotal`, `total_price`, ...). The plugin answers the catalog's
`catalog.product_referenced` for products its order lines keep. `POST /api/orders/{id}/pay/` asks
`orders.pay(request, order_id, user_id)` (2.1): the first implementation returning a body has taken
the payment (calling `mark_paid`); without one the order is paid by the seed's simulation. The points
and `CheckoutRefused` are declared in `shopcore_orders.points` and re-exported here.

The interface is part of the plugin contract (`shopcore.plugins.CONTRACT_VERSION`).
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

from shopcore_orders.events import (OrderCancelled, OrderDelivered, OrderEvent, OrderEventLine, OrderPaid, OrderPlaced,
                                    OrderShipped)
from shopcore_orders.points import CHECKOUT_VALIDATORS, ORDER_PLACED, PAY_ORDER, CheckoutRefused

__all__ = ["CHECKOUT_VALIDATORS", "ORDER_PLACED", "PAY_ORDER", "CheckoutRefused", "OrderCancelled", "OrderDelivered",
           "OrderEvent", "OrderEventLine", "OrderPaid", "OrderPlaced", "OrderService", "OrderShipped"]


@runtime_checkable
class OrderService(Protocol):
    """Checkout, the order state machine and order history, for one request (its session and transaction)."""

    def place_order(self, user_id: int, shipping_address: str | Mapping[str, Any] | None, payment_method: str, *,
                    shipping_address_id: int | None = None, billing_address: Mapping[str, Any] | None = None,
                    billing_address_id: int | None = None, shipping_method: int | None = None) -> dict:
        """Turn the user's cart into a pending order, all or nothing, in the caller's transaction.

        `shipping_address` is text (the seed's form) or an address object (`shopcore.accounts.addresses`
        checks it); or `shipping_address_id` names one of the customer's addresses; given neither, the
        customer's default shipping address. `billing_address` (object) or `billing_address_id` is
        optional. `shipping_method` is a method's id (the default method when None). The order's totals
        are the cart's for that destination and method.

        Raises `Conflict` (409) naming a short line, `ShopError` (400) for an empty cart, `InvalidInput`
        (400) naming what shipping or tax still need; after an exception the caller must roll back.
        Emits `OrderPlaced`.
        """
        ...

    def get_order(self, viewer_id: int, order_id: int, *, is_admin: bool = False) -> dict:
        """One order: a customer's own (anyone else's is a `NotFound`), or any for an admin. Cached."""
        ...

    def list_orders(self, viewer_id: int, *, is_admin: bool = False, page: int = 1, page_size: int = 20,
                    status: str | None = None, user: int | None = None) -> dict:
        """A page (`count`, `next`, `previous`, `results`) of orders, newest first; cached per viewer.

        The page links start at `shopcore.base_url`.
        """
        ...

    def order_summary(self, order_id: int) -> dict:
        """An order with `user_id` added, uncached: safe inside the transaction that changed it."""
        ...

    def update_order(self, user_id: int, order_id: int, changes: Mapping[str, Any]) -> dict:
        """Change `shipping_address` or `payment_method` of one's own pending order."""
        ...

    def pay(self, user_id: int, order_id: int) -> dict:
        """Pay one's own pending order: through `orders.pay` (a payment provider), else simulated; emits `OrderPaid`."""
        ...

    def mark_paid(self, order_id: int) -> None:
        """Added in 2.1. Any pending order -> paid, once its payment is taken; emits `OrderPaid`.

        One conditional UPDATE: of racing callers (a provider's webhook and the customer's
        confirmation) exactly one succeeds, the others get a `Conflict` naming the status.
        """
        ...

    def mark_refunded(self, order_id: int, *, fully: bool) -> str:
        """Added in 2.1. A paid, shipped, delivered or partially refunded order -> `refunded` (`fully`)
        or `partially_refunded`; returns the new status. Emits no event: the refund's owner does."""
        ...

    def cancel(self, user_id: int, order_id: int) -> dict:
        """Cancel one's own pending order and put its units back in stock; emits `OrderCancelled`."""
        ...

    def set_status(self, order_id: int, status: str) -> dict:
        """Move a paid order on (`"shipped"`, then `"delivered"`); emits `OrderShipped` / `OrderDelivered`."""
        ...

    def is_product_referenced(self, product_id: int) -> bool:
        """True when some order line names the product (the catalog then deactivates it instead of deleting)."""
        ...
