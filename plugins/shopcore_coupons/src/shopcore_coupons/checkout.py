"""How coupons take part in the shop's decisions: the cart's discount line, checkout, and cancellation.

- `cart.price_adjustments`: the discount line of the code on the cart (none when it cannot be used).
- `orders.checkout_validators`: counts the use atomically, or refuses the checkout (409) saying why.
- `orders.order_placed`: keeps which order used which coupon, and takes the spent code off the cart.
- `OrderCancelled`, in the transaction: the cancelled order's use is given back.
"""
from __future__ import annotations

from shopcore_cart.api import Adjustment, CartSnapshot

from shopcore_coupons.services import ADJUSTMENT_SOURCE, CouponService


def _coupons(request) -> CouponService:
    return request.find_service(CouponService)


def coupon_discount(request, cart: CartSnapshot) -> list[Adjustment]:
    pricing = _coupons(request).price(cart)
    if pricing.terms is None or pricing.discount <= 0:
        return []
    return [Adjustment(label=pricing.terms.label, amount=-pricing.discount, source=ADJUSTMENT_SOURCE)]


def count_coupon_use(request, cart: CartSnapshot) -> None:
    _coupons(request).take_use(cart)


def record_coupon_redemption(request, order, cart: CartSnapshot) -> None:
    _coupons(request).record_redemption(order.id, cart)


def give_back_coupon_use(request, event) -> None:
    _coupons(request).release(event.order_id)
