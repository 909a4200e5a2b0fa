"""Named extension points: where a plugin makes a decision rather than reacts to an event.

Points are declared here, in one place, with the signature an implementation must have. A plugin adds
an implementation with `config.add_extension(POINT, callable, order=N)`; naming a point that is not
declared is a start-up error, not silence. Lower `order` runs first; ties keep include order.

- `price_adjustments(request, cart) -> list[Adjustment]`: called when a cart total is computed
  (the cart view and checkout). `cart` is a `CartSnapshot`. Each returned adjustment is a line with a
  label and a signed decimal amount (negative for a discount).
- `checkout_validators(request, cart) -> None`: called inside the checkout transaction before any
  stock is taken; raise `CheckoutRefused(reason)` to refuse the checkout with a 409.
- `order_placed_in_transaction(request, order, cart) -> None`: called inside the checkout
  transaction after the order row exists, so a plugin can record its own rows (a coupon use) atomically.
- `product_referenced(request, product_id) -> bool`: asked before a product is deleted; when any
  implementation answers True (an order line keeps it), the catalog deactivates it instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from pyramid.exceptions import ConfigurationError

PRICE_ADJUSTMENTS = "price_adjustments"
CHECKOUT_VALIDATORS = "checkout_validators"
ORDER_PLACED_IN_TRANSACTION = "order_placed_in_transaction"
PRODUCT_REFERENCED = "product_referenced"

DECLARED_POINTS = frozenset({PRICE_ADJUSTMENTS, CHECKOUT_VALIDATORS, ORDER_PLACED_IN_TRANSACTION,
                             PRODUCT_REFERENCED})


@dataclass(frozen=True)
class Adjustment:
    label: str
    amount: Decimal
    source: str = ""


@dataclass(frozen=True)
class CartLine:
    product_id: int
    product_name: str
    unit_price: Decimal
    quantity: int

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class CartSnapshot:
    user_id: int
    lines: tuple[CartLine, ...]
    extra: dict = field(default_factory=dict)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.subtotal for line in self.lines), Decimal("0.00"))


class CheckoutRefused(Exception):
    """Raised by a checkout validator; the request answers 409 with this reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def add_extension(config, point: str, implementation: Callable, order: int = 0) -> None:
    if point not in DECLARED_POINTS:
        raise ConfigurationError(
            f"extension point {point!r} is not declared (declared: {', '.join(sorted(DECLARED_POINTS))})"
        )
    if not callable(implementation):
        raise ConfigurationError(f"extension for {point!r} must be callable")

    def register():
        registry = config.registry
        points = registry.setdefault("shopcore.extensions", {})
        points.setdefault(point, []).append((order, len(points.get(point, [])), implementation))
        points[point].sort(key=lambda item: (item[0], item[1]))

    config.action(("shopcore.extension", point, implementation), register)


def extensions(registry, point: str) -> list[Callable]:
    if point not in DECLARED_POINTS:
        raise KeyError(point)
    return [impl for _order, _seq, impl in registry.get("shopcore.extensions", {}).get(point, [])]


def price_adjustments(request, cart: CartSnapshot) -> list[Adjustment]:
    adjustments: list[Adjustment] = []
    for implementation in extensions(request.registry, PRICE_ADJUSTMENTS):
        adjustments.extend(implementation(request, cart) or ())
    return adjustments


def run_checkout_validators(request, cart: CartSnapshot) -> None:
    for implementation in extensions(request.registry, CHECKOUT_VALIDATORS):
        implementation(request, cart)


def run_order_placed_in_transaction(request, order, cart: CartSnapshot) -> None:
    for implementation in extensions(request.registry, ORDER_PLACED_IN_TRANSACTION):
        implementation(request, order, cart)


def is_product_referenced(request, product_id: int) -> bool:
    return any(impl(request, product_id) for impl in extensions(request.registry, PRODUCT_REFERENCED))


def includeme(config) -> None:
    config.add_directive("add_extension", add_extension)
