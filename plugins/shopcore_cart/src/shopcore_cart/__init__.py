"""shopcore plugin `cart`: a customer's cart, checked against the catalog and priced through its extension
points: `cart.price_adjustments`, `cart.shipping_quote` and `cart.tax_quote` (see `shopcore_cart.points`).

Settings (`shopcore.cart.`): `tax_failure`, what happens when tax cannot be computed (its
implementation fails or overruns its budget): `block` (default) answers 503 "Computing tax is
temporarily unavailable", `proceed` goes on without that tax (the order then carries no tax lines).
"""
from shopcore.plugins import PluginManifest
from shopcore.settings import Setting, parse_choice

CART_SETTINGS = (
    Setting("shopcore.cart.tax_failure", "block", parse_choice("block", "proceed"), (),
            "When tax cannot be computed: block (503) or proceed without that tax."),
)


def includeme(config) -> None:
    from shopcore.accounts.personal_data import ERASURE_POINT as PERSONAL_DATA_ERASURE
    from shopcore.accounts.personal_data import EXPORT_POINT as PERSONAL_DATA_EXPORT

    from shopcore_cart.api import CartService
    from shopcore_cart.points import declare_points, declare_totals_points
    from shopcore_cart.services import cart_service_factory

    config.add_settings_table("shopcore.cart.", CART_SETTINGS)
    declare_points(config)
    declare_totals_points(config, tax_failure=config.get_settings()["shopcore.cart.tax_failure"])
    config.add_openapi_fragment("shopcore_cart:openapi.yaml")
    config.register_service_factory(cart_service_factory, CartService)
    config.add_extension(PERSONAL_DATA_EXPORT, "shopcore_cart.personal_data.export_cart")
    config.add_extension(PERSONAL_DATA_ERASURE, "shopcore_cart.personal_data.erase_cart")
    config.include("shopcore_cart.views")


plugin = PluginManifest(name="cart", api="2.0", requires=("catalog",), includeme=includeme,
                        migrations="shopcore_cart:migrations", description="A customer's cart")
