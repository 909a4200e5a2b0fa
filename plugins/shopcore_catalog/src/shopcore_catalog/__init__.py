"""shopcore plugin `catalog`: Categories and products."""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    config.add_openapi_fragment("shopcore_catalog:openapi.yaml")
    config.add_migrations("shopcore_catalog:migrations")


plugin = PluginManifest(name="catalog", api="1.0", requires=(), includeme=includeme,
                        description="Categories and products")
