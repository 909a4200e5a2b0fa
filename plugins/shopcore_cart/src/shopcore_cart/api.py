"""The cart's public surface for other plugins: the `CartService` interface and what it returns.

    from shopcore_cart.api import CartService

    cart = request.find_service(CartService)     # bound to this request and its transaction

A cart line holds one variant of a product. A quantity is a whole number from 1 to the variant's stock and at most `MAX_LINE_QUANTITY` (1000)
per line. Bad input raises `shopcore.errors.InvalidInput` naming the field, too little stock a
`Conflict` (409), another customer's line a `NotFound`. Prices are never stored in the cart: the
checkout copies them. The interface is part of the plugin contract (`shopcore.plugins.CONTRACT_VERSION`).

The cart's extension points and the types they pass are declared in `shopcore_cart.points` and
re-exported here: `cart.price_adjustments` (`PRICE_ADJUSTMENTS`: `CartSnapshot` of `CartLine`s in,
`Adjustment`s out), `cart.shipping_quote` (`SHIPPING_QUOTE`: `ShippingQuery` in, `ShippingOption`s
out) and `cart.tax_quote` (`TAX_QUOTE`: `TaxQuery` of `TaxableLine`s in, a `TaxQuote` of `TaxLine`s
out), both for a `Destination`. `PricedCart.totals` is computed from all three by
`shopcore_cart.totals` (the rule is in its docstring and docs/checkout.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

from shopcore.money import ZERO, round_money

from shopcore_cart.models import MAX_LINE_QUANTITY
from shopcore_cart.points import (PRICE_ADJUSTMENTS, SHIPPING_QUOTE, TAX_QUOTE, Adjustment, CartLine, CartSnapshot,
                                  Destination, ShippingOption, ShippingQuery, TaxableLine, TaxLine, TaxQuery, TaxQuote)
from shopcore_cart.totals import CartTotals, Totals

__all__ = ["PRICE_ADJUSTMENTS", "SHIPPING_QUOTE", "TAX_QUOTE", "Adjustment", "CartLine", "CartSnapshot", "Destination",
           "ShippingOption", "ShippingQuery", "TaxableLine", "TaxLine", "TaxQuery", "TaxQuote", "Totals",
           "MAX_LINE_QUANTITY", "CartLineState", "CartService", "PricedCart"]


@dataclass(frozen=True)
class CartLineState:
    """A cart line as it stands against the catalog now.

    `product_name` and `unit_price` are None only when the variant (or its product) no longer exists.
    `variant_id`, `sku` and `options` say which of the product's variants the line holds.
    `available` says whether checkout can take this line as it is; `sold` whether the catalog still
    sells the product at all (it exists and is active).
    """

    id: int
    product_id: int
    product_name: str | None
    unit_price: Decimal | None
    quantity: int
    quantity_available: int
    available: bool
    sold: bool
    variant_id: int | None = None
    sku: str | None = None
    options: dict | None = None

    @property
    def subtotal(self) -> Decimal:
        return ZERO if self.unit_price is None else round_money(self.unit_price * self.quantity)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "product": self.product_id,
            "variant": self.variant_id,
            "sku": self.sku,
            "options": self.options,
            "product_name": self.product_name,
            "unit_price": None if self.unit_price is None else round_money(self.unit_price),
            "quantity": self.quantity,
            "subtotal": self.subtotal,
            "available": self.available,
            "quantity_available": self.quantity_available,
        }


@dataclass(frozen=True)
class PricedCart:
    """A customer's cart priced at current catalog prices, with every plugin's adjustments applied."""

    user_id: int
    lines: tuple[CartLineState, ...]
    snapshot: CartSnapshot
    adjustments: tuple[Adjustment, ...]
    # Shipping and tax for the destination and method asked for (none: no shipping, tax if computable).
    priced: CartTotals | None = field(default=None)

    @property
    def totals(self) -> Totals:
        return self.priced.totals

    @property
    def shipping(self) -> ShippingOption | None:
        return self.priced.shipping

    @property
    def tax_lines(self) -> tuple[TaxLine, ...]:
        return self.priced.tax_lines

    @property
    def checkout_problems(self) -> tuple[tuple[str, str], ...]:
        """(field, message) of what checkout still needs: a shipping method, a destination for tax."""
        return self.priced.problems

    @property
    def subtotal(self) -> Decimal:
        return round_money(self.snapshot.subtotal)

    @property
    def total_price(self) -> Decimal:
        # A discount larger than the goods makes the cart free, never a credit.
        return max(ZERO, self.subtotal + sum((round_money(a.amount) for a in self.adjustments), ZERO))

    @property
    def total_items(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def unavailable_lines(self) -> tuple[CartLineState, ...]:
        return tuple(line for line in self.lines if not line.available)

    def as_json(self) -> dict:
        return {
            "items": [line.as_json() for line in self.lines],
            "adjustments": [{"label": a.label, "amount": round_money(a.amount)} for a in self.adjustments],
            "total_items": self.total_items,
            "subtotal": self.subtotal,
            "total_price": self.total_price,
            "totals": self.totals.as_json(),
            "shipping_method": None if self.shipping is None else self.shipping.as_json(),
        }


@runtime_checkable
class CartService(Protocol):
    """A customer's cart, for one request (its session and transaction)."""

    def priced_cart(self, user_id: int, *, destination: Destination | None = None,
                    shipping_method: int | None = None) -> PricedCart:
        """The cart at current catalog prices with every plugin's `price_adjustments` applied.

        Two queries whatever its size (and what the shipping and tax quotes read). Lines of
        deactivated, deleted or short products stay in the cart, flagged (`available`, `sold`);
        `snapshot` is what the extension points receive. `totals` are for `destination` (None: a
        free-text address) and `shipping_method` (None: the default option, if any); a method that
        does not ship there is an `InvalidInput` naming `shipping_method`.
        """
        ...

    def add_item(self, user_id: int, product_id: int, quantity: int) -> tuple[CartLineState, bool]:
        """Put `quantity` of a one-variant product in the cart (`add_variant` of its variant).

        A product with several variants is an `InvalidInput` naming `variant`.
        """
        ...

    def add_variant(self, user_id: int, variant_id: int, quantity: int) -> tuple[CartLineState, bool]:
        """Put `quantity` of a variant in the cart, adding to its line if there is one.

        Returns the line and whether it was created; racing adds land on one line.
        """
        ...

    def set_quantity(self, user_id: int, item_id: int, quantity: int) -> CartLineState:
        """Set one of the customer's lines to `quantity` (checked against the stock now)."""
        ...

    def remove_item(self, user_id: int, item_id: int) -> None:
        """Remove one of the customer's lines (`NotFound` when it is not theirs or does not exist)."""
        ...

    def clear(self, user_id: int) -> None:
        """Empty the customer's cart (checkout does, in its transaction)."""
        ...
