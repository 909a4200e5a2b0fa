"""Cart rules: what a customer may put in their cart (checked against the catalog) and the priced cart.

A line holds one variant of a product (`{"variant": id}`); the seed's `{"product": id}` still adds a
product sold in one variant, and is a 400 naming `variant` for a product with several.

`DefaultCartService` implements `shopcore_cart.api.CartService`. The orders plugin checks out from
`priced_cart(user_id)` and empties the cart with `clear(user_id)`; the cart view shows the same
priced cart, so the total a customer sees and the total an order is placed for come from one computation.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from shopcore.clock import utcnow
from shopcore.db import upsert
from shopcore.errors import Conflict, InvalidInput, NotFound
from shopcore.extensions import run_extension_point
from shopcore.money import round_money

from shopcore_catalog.api import CatalogService

from shopcore_cart.api import CartLineState, CartService, PricedCart
from shopcore_cart.models import MAX_LINE_QUANTITY, CartItem
from shopcore_cart.points import PRICE_ADJUSTMENTS, CartLine, CartSnapshot, Destination
from shopcore_cart.totals import cart_totals


def line_state(item_id: int, product_id: int, variant_id: int, quantity: int, variant) -> CartLineState:
    """`variant` is the catalog's VariantInfo, or None when the variant (or its product) is gone."""
    if variant is None:
        return CartLineState(item_id, product_id, None, None, quantity, 0, False, False, variant_id=variant_id)
    in_stock = variant.stock if variant.is_active else 0
    return CartLineState(item_id, product_id, variant.product_name, round_money(variant.price), quantity, in_stock,
                         variant.is_active and variant.stock >= quantity, variant.is_active,
                         variant_id=variant_id, sku=variant.sku, options=dict(variant.options))


def check_quantity(quantity) -> int:
    # The HTTP layer validates against the spec; services are also called from scripts and plugins.
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput("quantity", "A whole number is required.")
    if quantity < 1:
        raise InvalidInput("quantity", "Must be at least 1.")
    if quantity > MAX_LINE_QUANTITY:
        raise InvalidInput("quantity", f"A cart line holds at most {MAX_LINE_QUANTITY}.")
    return quantity


def variant_label(variant) -> str:
    options = ", ".join(f"{name} {value}" for name, value in variant.options.items())
    return f"{variant.product_name!r} ({options})" if options else repr(variant.product_name)


def not_enough_stock(variant, wanted: int) -> Conflict:
    message = f"Only {variant.stock} of {variant_label(variant)} in stock; {wanted} requested."
    return Conflict(f"quantity: {message}", [{"field": "quantity", "message": message}])


class DefaultCartService(CartService):
    """The cart's own `CartService`, bound to one request (its session and transaction)."""

    def __init__(self, request):
        self.request = request
        self.session = request.dbsession

    @property
    def catalog(self) -> CatalogService:
        return self.request.find_service(CatalogService)

    def _variant(self, variant_id: int):
        return self.catalog.get_variants([variant_id]).get(variant_id)

    def priced_cart(self, user_id: int, *, destination: Destination | None = None,
                    shipping_method: int | None = None) -> PricedCart:
        """Two queries (the lines, then their variants in one catalog call) plus the price adjustments,
        then the shipping and tax quotes for the totals."""
        rows = self.session.execute(
            select(CartItem.id, CartItem.product_id, CartItem.variant_id, CartItem.quantity)
            .where(CartItem.user_id == user_id).order_by(CartItem.id)
        ).all()
        variants = self.catalog.get_variants([row.variant_id for row in rows]) if rows else {}
        lines = tuple(line_state(row.id, row.product_id, row.variant_id, row.quantity, variants.get(row.variant_id))
                      for row in rows)
        snapshot = CartSnapshot(user_id=user_id, lines=tuple(
            CartLine(product_id=line.product_id, product_name=line.product_name, unit_price=line.unit_price,
                     quantity=line.quantity, variant_id=line.variant_id, sku=line.sku or "")
            for line in lines if line.unit_price is not None
        ))
        adjustments = tuple(adjustment for result in run_extension_point(self.request, PRICE_ADJUSTMENTS, snapshot)
                            for adjustment in result or ())
        priced = cart_totals(self.request, snapshot, adjustments, destination=destination,
                             shipping_method=shipping_method)
        return PricedCart(user_id=user_id, lines=lines, snapshot=snapshot, adjustments=adjustments, priced=priced)

    def add_item(self, user_id: int, product_id: int, quantity: int) -> tuple[CartLineState, bool]:
        """Put `quantity` of a one-variant product in the cart (the seed's `{"product": id}`).

        A product with several variants is a 400 naming `variant`: the customer must say which.
        """
        check_quantity(quantity)
        variants = self.catalog.get_product_variants(product_id)
        if not variants:
            raise InvalidInput("product", f"Product {product_id} does not exist.")
        if len(variants) > 1:
            raise InvalidInput("variant", f"Product {product_id} comes in {len(variants)} variants; "
                                          "give the variant's id instead of the product's.")
        return self._add(user_id, variants[0], quantity, field="product")

    def add_variant(self, user_id: int, variant_id: int, quantity: int) -> tuple[CartLineState, bool]:
        """Put `quantity` of a variant in the cart, adding to its line if there is one.

        Returns the line and whether it was created. The combined quantity must stay within the
        variant's stock and the per-line maximum.
        """
        check_quantity(quantity)
        variant = self._variant(variant_id)
        if variant is None:
            raise InvalidInput("variant", f"Variant {variant_id} does not exist.")
        return self._add(user_id, variant, quantity, field="variant")

    def _add(self, user_id: int, variant, quantity: int, field: str) -> tuple[CartLineState, bool]:
        if not variant.is_active:
            what = f"Product {variant.product_id}" if field == "product" else f"Variant {variant.id}"
            raise InvalidInput(field, f"{what} is not available.")
        existing = self.session.scalar(
            select(CartItem.quantity).where(CartItem.user_id == user_id, CartItem.variant_id == variant.id))
        wanted = quantity + (existing or 0)
        if wanted > MAX_LINE_QUANTITY:
            raise InvalidInput("quantity", f"A cart line holds at most {MAX_LINE_QUANTITY}; "
                                           f"this would make {wanted}.")
        if wanted > variant.stock:
            raise not_enough_stock(variant, wanted)
        limit = min(variant.stock, MAX_LINE_QUANTITY)
        now = utcnow()
        combined = CartItem.quantity + quantity
        # Two adds racing for one line both land on it (no duplicate-key error), and the limit is
        # checked against the quantity actually in the row, not the one read above.
        row = upsert(self.session, CartItem, {"user_id": user_id, "product_id": variant.product_id,
                                              "variant_id": variant.id, "quantity": quantity,
                                              "created_at": now, "updated_at": now},
                     conflict=[CartItem.user_id, CartItem.variant_id],
                     update={"quantity": combined, "updated_at": now}, where=combined <= limit,
                     returning=[CartItem.id, CartItem.quantity]).first()
        if row is None:
            raise not_enough_stock(variant, wanted)
        return line_state(row.id, variant.product_id, variant.id, row.quantity, variant), existing is None

    def set_quantity(self, user_id: int, item_id: int, quantity: int) -> CartLineState:
        check_quantity(quantity)
        item = self._own_item(user_id, item_id)
        variant = self._variant(item.variant_id)
        if variant is None or not variant.is_active:
            message = "This product is no longer available; remove it from the cart."
            raise Conflict(message, [{"field": "quantity", "message": message}])
        if quantity > variant.stock:
            raise not_enough_stock(variant, quantity)
        item.quantity = quantity
        self.session.flush()
        return line_state(item.id, item.product_id, item.variant_id, item.quantity, variant)

    def remove_item(self, user_id: int, item_id: int) -> None:
        result = self.session.execute(delete(CartItem).where(CartItem.id == item_id, CartItem.user_id == user_id))
        if result.rowcount == 0:
            raise NotFound("Cart item not found.")

    def clear(self, user_id: int) -> None:
        self.session.execute(delete(CartItem).where(CartItem.user_id == user_id))

    def _own_item(self, user_id: int, item_id: int) -> CartItem:
        # Another customer's line is answered exactly like a missing one.
        item = self.session.scalar(select(CartItem).where(CartItem.id == item_id, CartItem.user_id == user_id))
        if item is None:
            raise NotFound("Cart item not found.")
        return item


def cart_service_factory(context, request) -> DefaultCartService:
    return DefaultCartService(request)
