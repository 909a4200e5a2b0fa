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


# --- shipping and tax: the totals' other two parts ------------------------------------------------
#
# Two points rather than one "totals" point: shipping and tax are separate decisions with separate
# owners (either plugin can be replaced alone), a different failure policy (no order ships without a
# shipping price, while a shop may choose to take orders while tax cannot be computed) and a
# dependency between them (shipping is taxed, so the shipping price must be known before tax is
# asked). Both are interruptible: a third party may answer them by calling a remote service, and
# checkout must not hang on it.

SHIPPING_QUOTE = "cart.shipping_quote"
SHIPPING_QUOTE_DOC = """Quoting shipping
`implementation(request, query: ShippingQuery) -> list[ShippingOption]`: the shipping methods that
can deliver `query.cart` to `query.destination`, each with its price (a Decimal, not negative) for
this cart. `destination` is None when the customer gave a free-text address: answer only the
method to use by default, if the shop has one. Called when the cart is shown (a reading request:
compute, never write), by `GET /api/cart/shipping-methods/`, and at checkout, which charges the price
of the chosen option. Runs in a worker thread, abandoned after its budget.
"""
SHIPPING_QUOTE_BUDGET = 2.0

TAX_QUOTE = "cart.tax_quote"
TAX_QUOTE_DOC = """Computing tax
`implementation(request, query: TaxQuery) -> TaxQuote`: the tax of each `query.lines` item (the
products after their share of the discount, fees, shipping) for `query.destination` (None for a
free-text address), one `TaxLine` per line taxed, each amount rounded half-up to the cent. A quote
with `missing` set says what the shop needs to know first (checkout answers 400 with it). Called when
the cart is shown and at checkout. Runs in a worker thread, abandoned after its budget; its failure
policy is the shop's setting `shopcore.cart.tax_failure`.
"""
TAX_QUOTE_BUDGET = 2.0


@dataclass(frozen=True)
class Destination:
    """Where the order goes: an ISO 3166-1 alpha-2 country, the region's ISO 3166-2 code (or text)."""

    country: str
    region: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class ShippingQuery:
    cart: CartSnapshot
    destination: Destination | None
    # The goods after discounts: what "free above" thresholds compare with.
    goods_total: Decimal


@dataclass(frozen=True)
class ShippingOption:
    """A method that can ship this cart there, priced for it."""

    method_id: int
    name: str
    price: Decimal
    is_default: bool = False

    def as_json(self) -> dict:
        return {"id": self.method_id, "name": self.name, "price": self.price, "is_default": self.is_default}


PRODUCT, FEE, SHIPPING = "product", "fee", "shipping"


@dataclass(frozen=True)
class TaxableLine:
    """One amount to tax: a cart line after its share of the discount, a fee, or the shipping price.

    `key` is `product:<id>`, `fee:<n>` or `shipping`; `amount` is what the customer pays for it (with
    tax inside when the shop enters prices with tax).
    """

    key: str
    kind: str
    product_id: int | None
    quantity: int
    amount: Decimal


@dataclass(frozen=True)
class TaxQuery:
    lines: tuple[TaxableLine, ...]
    destination: Destination | None


@dataclass(frozen=True)
class TaxLine:
    """The tax on one taxable line: `rate` in percent, `amount` rounded to the cent, `included` when
    it is already inside the line's price (the shop enters prices with tax)."""

    key: str
    label: str
    rate: Decimal
    amount: Decimal
    included: bool = False

    def as_json(self) -> dict:
        return {"line": self.key, "label": self.label, "rate": f"{self.rate:.3f}", "amount": self.amount,
                "included": self.included}


@dataclass(frozen=True)
class TaxQuote:
    lines: tuple[TaxLine, ...] = ()
    # Set when tax cannot be computed yet (the destination is unknown): what checkout must be given.
    missing: tuple[str, str] | None = None


def declare_totals_points(config, tax_failure: str) -> None:
    config.add_extension_point(SHIPPING_QUOTE, doc=SHIPPING_QUOTE_DOC, budget_seconds=SHIPPING_QUOTE_BUDGET,
                               failure="block", interrupt=True)
    config.add_extension_point(TAX_QUOTE, doc=TAX_QUOTE_DOC, budget_seconds=TAX_QUOTE_BUDGET, failure=tax_failure,
                               interrupt=True)
