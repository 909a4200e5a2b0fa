"""shopcore plugin `coupons`: coupon codes that discount the cart and are counted atomically at checkout.

Written only against the plugin contract (docs/plugins.md): its own tables and migrations, its
OpenAPI fragment, the cart's `cart.price_adjustments` and the orders plugin's
`orders.checkout_validators` and `orders.order_placed` extension points, and its `OrderCancelled` event.
"""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    from shopcore_cart.api import PRICE_ADJUSTMENTS
    from shopcore_orders.api import CHECKOUT_VALIDATORS, ORDER_PLACED
    from shopcore_orders.events import OrderCancelled

    from shopcore_coupons.checkout import (count_coupon_use, coupon_discount, give_back_coupon_use,
                                           record_coupon_redemption)
    from shopcore_coupons.services import checkout_state, coupon_service_factory

    config.add_openapi_fragment("shopcore_coupons:openapi.yaml")
    config.register_service_factory(coupon_service_factory, name="coupons")
    config.add_request_method(checkout_state, "coupons_checkout", reify=True)
    config.add_extension(PRICE_ADJUSTMENTS, coupon_discount)
    config.add_extension(CHECKOUT_VALIDATORS, count_coupon_use)
    config.add_extension(ORDER_PLACED, record_coupon_redemption)
    config.add_event_subscriber(give_back_coupon_use, OrderCancelled, after_commit=False)
    config.include("shopcore_coupons.views")


plugin = PluginManifest(name="coupons", api="2.0", requires=("cart", "orders"), includeme=includeme,
                        migrations="shopcore_coupons:migrations",
                        description="Coupon codes for discounts on the cart and at checkout")
