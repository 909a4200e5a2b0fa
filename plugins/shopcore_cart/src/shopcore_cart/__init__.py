"""shopcore plugin `cart`: a customer's cart, checked against the catalog and priced through the hooks."""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    from shopcore_cart.services import cart_service_factory

    config.add_openapi_fragment("shopcore_cart:openapi.yaml")
    config.add_migrations("shopcore_cart:migrations")
    config.register_service_factory(cart_service_factory, name="cart")
    config.include("shopcore_cart.views")


plugin = PluginManifest(name="cart", api="1.0", requires=("catalog",), includeme=includeme,
                        description="A customer's cart")
