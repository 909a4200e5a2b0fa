"""The cart's extension point, `cart.price_adjustments`, and the types it passes (see shopcore_cart.api)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

PRICE_ADJUSTMENTS = "cart.price_adjustments"
PRICE_ADJUSTMENTS_DOC = """Pricing the cart
`implementation(request, cart: CartSnapshot) -> list[Adjustment]`, called whenever a cart total is
computed: when the cart is shown (a reading request: compute, never write) and at checkout, where the
order records exactly the adjustments returned. Each `Adjustment(label, amount, source)` is a line
with a signed Decimal amount, negative for a discount.
"""
# Pricing runs on every cart view: a slow implementation slows every customer.
PRICE_ADJUSTMENTS_BUDGET = 2.0


@dataclass(frozen=True)
class Adjustment:
    """A discount (negative amount) or fee line on the cart and, at checkout, on the order."""

    label: str
    amount: Decimal
    source: str = ""


@dataclass(frozen=True)
class CartLine:
    product_id: int
    product_name: str
    unit_price: Decimal
    quantity: int
    # The variant bought (its SKU): a product without options has one.
    variant_id: int | None = None
    sku: str = ""

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class CartSnapshot:
    """The priced lines of a cart (unavailable lines left out), as every extension receives them."""

    user_id: int
    lines: tuple[CartLine, ...]
    extra: dict = field(default_factory=dict)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.subtotal for line in self.lines), Decimal("0.00"))


def declare_points(config) -> None:
    config.add_extension_point(PRICE_ADJUSTMENTS, doc=PRICE_ADJUSTMENTS_DOC, budget_seconds=PRICE_ADJUSTMENTS_BUDGET,
                               failure="block")
