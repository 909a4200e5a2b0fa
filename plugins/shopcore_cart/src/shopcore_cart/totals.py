"""The cart's totals: goods, discount, fees, shipping and tax, computed once for the cart and for checkout.

The cart view and the orders plugin's checkout both take their totals from here, so the totals a
customer sees for a destination and a shipping method are the ones the order is placed for.

The rule (docs/checkout.md):

- `subtotal` is the lines at catalog prices; each price adjustment is rounded to the cent; positive
  ones are `fees`; the goods after adjustments are never below zero, and `discount` is what the
  adjustments took off (`subtotal + fees - goods`, never negative).
- The discount is shared among the product and fee lines in proportion to their amounts, in whole
  cents, the cents left by rounding going to the lines with the largest remainders (ties: first
  line first), so the shares add up to the discount exactly and no share exceeds its line.
- `shipping` is the chosen option's price, not discounted.
- Tax is computed by the `cart.tax_quote` implementations per line (each product line after its
  share of the discount, each fee, the shipping), each line's tax rounded half-up to the cent; `tax`
  is the sum of those rounded amounts and `tax_included` the part of it already inside the prices.
- `total = subtotal - discount + fees + shipping + tax - tax_included`, exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from shopcore.errors import InvalidInput
from shopcore.extensions import extensions, run_extension_point
from shopcore.money import CENT, ZERO, round_money

from shopcore_cart.points import (FEE, PRODUCT, SHIPPING, SHIPPING_QUOTE, TAX_QUOTE, Adjustment, CartSnapshot,
                                  Destination, ShippingOption, ShippingQuery, TaxableLine, TaxLine, TaxQuery)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    fees: Decimal
    shipping: Decimal
    tax: Decimal
    tax_included: Decimal
    total: Decimal

    def as_json(self) -> dict:
        return {"subtotal": self.subtotal, "discount": self.discount, "fees": self.fees, "shipping": self.shipping,
                "tax": self.tax, "tax_included": self.tax_included, "total": self.total}


@dataclass(frozen=True)
class CartTotals:
    """The totals with what they were made of: the chosen shipping option, the tax lines, and what
    checkout still needs (`problems`: (field, message) pairs, empty when the cart can be checked out)."""

    totals: Totals
    shipping: ShippingOption | None
    tax_lines: tuple[TaxLine, ...]
    problems: tuple[tuple[str, str], ...]
    shipping_offered: bool


def share_in_cents(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` split in proportion to `weights` (all >= 0), in cents that add up to `total` exactly."""
    weight_sum = sum(weights, ZERO)
    if not weights or total == ZERO or weight_sum == ZERO:
        return [ZERO for _ in weights]
    exact = [total * weight / weight_sum for weight in weights]
    shares = [value.quantize(CENT, rounding=ROUND_FLOOR) for value in exact]
    left = int((total - sum(shares, ZERO)) / CENT)
    by_remainder = sorted(range(len(weights)), key=lambda index: (-(exact[index] - shares[index]), index))
    for index in by_remainder[:left]:
        shares[index] += CENT
    return shares


def goods_lines(snapshot: CartSnapshot, adjustments: tuple[Adjustment, ...]) -> tuple[Decimal, Decimal, Decimal,
                                                                                     list[TaxableLine]]:
    """(subtotal, discount, fees, taxable product and fee lines after their share of the discount)."""
    subtotal = round_money(snapshot.subtotal)
    amounts = [round_money(adjustment.amount) for adjustment in adjustments]
    fees = sum((amount for amount in amounts if amount > ZERO), ZERO)
    goods = max(ZERO, subtotal + sum(amounts, ZERO))
    discount = subtotal + fees - goods
    lines = [(f"{PRODUCT}:{line.product_id}", PRODUCT, line.product_id, line.quantity, round_money(line.subtotal))
             for line in snapshot.lines]
    lines += [(f"{FEE}:{index}", FEE, None, 1, amount) for index, amount in enumerate(amounts) if amount > ZERO]
    shares = share_in_cents(discount, [amount for *_rest, amount in lines])
    taxable = [TaxableLine(key, kind, product_id, quantity, amount - share)
               for (key, kind, product_id, quantity, amount), share in zip(lines, shares)]
    return subtotal, discount, fees, taxable


def shipping_options(request, snapshot: CartSnapshot, destination: Destination | None,
                     goods_total: Decimal) -> list[ShippingOption]:
    query = ShippingQuery(cart=snapshot, destination=destination, goods_total=goods_total)
    return [option for result in run_extension_point(request, SHIPPING_QUOTE, query) for option in result or ()]


def shipping_is_offered(registry) -> bool:
    """Whether some enabled plugin quotes shipping (then every checkout needs a shipping method)."""
    return bool(extensions(registry, SHIPPING_QUOTE))


def choose_shipping(options: list[ShippingOption], method_id: int | None,
                    destination: Destination | None) -> tuple[ShippingOption | None, tuple[str, str] | None]:
    if method_id is not None:
        chosen = next((option for option in options if option.method_id == method_id), None)
        if chosen is None:
            where = f" to {destination.country}" if destination else " to a free-text address"
            raise InvalidInput("shipping_method", f"Shipping method {method_id} does not ship this cart{where}.")
        return chosen, None
    default = next((option for option in options if option.is_default), None)
    if default is not None:
        return default, None
    if destination is None:
        return None, ("shipping_address", "Give the shipping address as an address with a country "
                                          "(or shipping_address_id): the shop has no default shipping method.")
    if not options:
        return None, ("shipping_method", f"No shipping method ships this cart to {destination.country}.")
    return None, ("shipping_method", f"Choose a shipping method: GET /api/cart/shipping-methods/?country="
                                     f"{destination.country} lists them.")


def cart_totals(request, snapshot: CartSnapshot, adjustments: tuple[Adjustment, ...], *,
                destination: Destination | None = None, shipping_method: int | None = None) -> CartTotals:
    subtotal, discount, fees, taxable = goods_lines(snapshot, adjustments)
    goods = subtotal - discount + fees
    problems: list[tuple[str, str]] = []
    shipping, offered = None, shipping_is_offered(request.registry)
    if offered and snapshot.lines:
        shipping, problem = choose_shipping(shipping_options(request, snapshot, destination, goods),
                                            shipping_method, destination)
        if problem:
            problems.append(problem)
    elif shipping_method is not None:
        raise InvalidInput("shipping_method", "This shop does not offer shipping methods.")
    shipping_price = round_money(shipping.price) if shipping else ZERO
    if shipping is not None:
        taxable.append(TaxableLine(SHIPPING, SHIPPING, None, 1, shipping_price))
    tax_lines: tuple[TaxLine, ...] = ()
    if snapshot.lines and extensions(request.registry, TAX_QUOTE):
        quotes = run_extension_point(request, TAX_QUOTE, TaxQuery(lines=tuple(taxable), destination=destination))
        tax_lines = tuple(line for quote in quotes for line in quote.lines)
        problems.extend(quote.missing for quote in quotes if quote.missing)
    tax = sum((round_money(line.amount) for line in tax_lines), ZERO)
    tax_included = sum((round_money(line.amount) for line in tax_lines if line.included), ZERO)
    totals = Totals(subtotal=subtotal, discount=discount, fees=fees, shipping=shipping_price, tax=tax,
                    tax_included=tax_included, total=goods + shipping_price + tax - tax_included)
    return CartTotals(totals=totals, shipping=shipping, tax_lines=tax_lines, problems=tuple(problems),
                      shipping_offered=offered)
