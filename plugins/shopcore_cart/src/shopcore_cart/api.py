"""The cart's public surface for other plugins: the service they call and what it returns.

    cart = request.find_service(name="cart")     # a CartService bound to this request

- `priced_cart(user_id) -> PricedCart`: the cart at current catalog prices, in two queries
  whatever its size, with every plugin's `price_adjustments` applied. `lines` are
  `CartLineState`s (`product_id`, `product_name`, `unit_price`, `quantity`, `subtotal`,
  `available`, `quantity_available`, `sold`); `snapshot` is the `CartSnapshot`
  the extension points receive; `adjustments`, `subtotal`, `total_price` (never below 0.00), `total_items`,
  `unavailable_lines`. Lines of deactivated, deleted or short products stay in the cart, flagged.
- `add_item(user_id, product_id, quantity) -> (CartLineState, created)`: adds to the product's
  line if there is one; racing adds land on one line.
- `set_quantity(user_id, item_id, quantity) -> CartLineState`, `remove_item(user_id, item_id)`,
  `clear(user_id)`.

A quantity is a whole number from 1 to the product's stock and at most 1000 per line. Bad input
raises `shopcore.errors.InvalidInput` naming the field, too little stock a `Conflict` (409), another
customer's line a `NotFound`. Prices are never stored in the cart: the checkout copies them.
"""
from shopcore_cart.models import MAX_LINE_QUANTITY
from shopcore_cart.points import PRICE_ADJUSTMENTS, Adjustment, CartLine, CartSnapshot
from shopcore_cart.services import CartLineState, CartService, PricedCart

__all__ = ["PRICE_ADJUSTMENTS", "Adjustment", "CartLine", "CartSnapshot", "MAX_LINE_QUANTITY", "CartLineState", "CartService", "PricedCart"]
