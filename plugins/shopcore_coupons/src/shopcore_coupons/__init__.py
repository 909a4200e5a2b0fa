"""shopcore plugin `coupons`: coupon codes that discount the cart and are counted atomically at checkout.

Written only against the plugin contract (docs/plugins.md): its own tables and migrations, its
OpenAPI fragment, the cart's `cart.price_adjustments` and the orders plugin's
`orders.checkout_validators` and `orders.order_placed` extension points, and its `OrderCancelled` event.

Settings (a settings table, `shopcore.coupons.`): `rate.apply_user` and `rate.apply_ip`, how many
codes a customer, and a client address, may try to apply (`limits` notation; defaults 10/hour and 30/hour).
"""
from shopcore.accounts.settings import parse_rate
from shopcore.plugins import PluginManifest
from shopcore.settings import Setting

COUPONS_SETTINGS = (
    Setting("shopcore.coupons.rate.apply_user", "10/hour", parse_rate, (),
            "Coupon codes a customer may try to apply (429 once spent)."),
    Setting("shopcore.coupons.rate.apply_ip", "30/hour", parse_rate, (),
            "Coupon codes a client address may try to apply (429 once spent)."),
)


def add_rate_limits(config) -> None:
    """The core's rate limiter learns the coupons' limits (`coupons.apply_user`, `coupons.apply_ip`)."""
    from shopcore_coupons.services import RATE_LIMIT_PREFIX

    settings = config.get_settings()
    limits = config.registry["shopcore.accounts.rate_limits"]
    for name in ("apply_user", "apply_ip"):
        limits.add_rate(RATE_LIMIT_PREFIX + name, settings[f"shopcore.coupons.rate.{name}"])


def includeme(config) -> None:
    from shopcore.accounts.personal_data import ERASURE_POINT as PERSONAL_DATA_ERASURE
    from shopcore.accounts.personal_data import EXPORT_POINT as PERSONAL_DATA_EXPORT
    from shopcore_cart.api import PRICE_ADJUSTMENTS
    from shopcore_orders.api import CHECKOUT_VALIDATORS, ORDER_PLACED
    from shopcore_orders.events import OrderCancelled

    from shopcore_coupons.checkout import (count_coupon_use, coupon_discount, give_back_coupon_use,
                                           record_coupon_redemption)
    from shopcore_coupons.services import AUDITED_ACTIONS, CouponService, checkout_state, coupon_service_factory

    config.add_settings_table("shopcore.coupons.", COUPONS_SETTINGS)
    config.add_openapi_fragment("shopcore_coupons:openapi.yaml")
    for action, doc in AUDITED_ACTIONS.items():
        config.add_audited_action(action, doc=doc)
    config.register_service_factory(coupon_service_factory, CouponService)
    add_rate_limits(config)
    config.add_request_method(checkout_state, "coupons_checkout", reify=True)
    config.add_extension(PRICE_ADJUSTMENTS, coupon_discount)
    config.add_extension(PERSONAL_DATA_EXPORT, "shopcore_coupons.personal_data.export_coupon_uses")
    config.add_extension(PERSONAL_DATA_ERASURE, "shopcore_coupons.personal_data.erase_coupon_data")
    config.add_extension(CHECKOUT_VALIDATORS, count_coupon_use)
    config.add_extension(ORDER_PLACED, record_coupon_redemption)
    config.add_event_subscriber(give_back_coupon_use, OrderCancelled, after_commit=False)
    config.include("shopcore_coupons.views")


plugin = PluginManifest(name="coupons", api="2.0", requires=("cart", "orders"), includeme=includeme,
                        migrations="shopcore_coupons:migrations",
                        description="Coupon codes for discounts on the cart and at checkout")
