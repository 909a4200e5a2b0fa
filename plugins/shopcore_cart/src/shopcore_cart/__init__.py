"""shopcore plugin `cart`: a customer's cart, checked against the catalog and priced through its `cart.price_adjustments` extension point."""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    from shopcore.accounts.personal_data import ERASURE_POINT as PERSONAL_DATA_ERASURE
    from shopcore.accounts.personal_data import EXPORT_POINT as PERSONAL_DATA_EXPORT

    from shopcore_cart.api import CartService
    from shopcore_cart.points import declare_points
    from shopcore_cart.services import cart_service_factory

    declare_points(config)
    config.add_openapi_fragment("shopcore_cart:openapi.yaml")
    config.register_service_factory(cart_service_factory, CartService)
    config.add_extension(PERSONAL_DATA_EXPORT, "shopcore_cart.personal_data.export_cart")
    config.add_extension(PERSONAL_DATA_ERASURE, "shopcore_cart.personal_data.erase_cart")
    config.include("shopcore_cart.views")


plugin = PluginManifest(name="cart", api="2.0", requires=("catalog",), includeme=includeme,
                        migrations="shopcore_cart:migrations", description="A customer's cart")
