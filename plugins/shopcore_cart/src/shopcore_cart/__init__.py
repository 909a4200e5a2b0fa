"""shopcore plugin `cart`: A customer's cart."""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    config.add_openapi_fragment("shopcore_cart:openapi.yaml")
    config.add_migrations("shopcore_cart:migrations")


plugin = PluginManifest(name="cart", api="1.0", requires=("catalog",), includeme=includeme,
                        description="A customer's cart")
