"""shopcore plugin `orders`: Checkout, payment simulation and cancellation."""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    config.add_openapi_fragment("shopcore_orders:openapi.yaml")
    config.add_migrations("shopcore_orders:migrations")


plugin = PluginManifest(name="orders", api="1.0", requires=("catalog", "cart"), includeme=includeme,
                        description="Checkout, payment simulation and cancellation")
