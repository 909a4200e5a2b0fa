"""shopcore plugin `notifications`: Mail for account and order events."""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    config.add_openapi_fragment("shopcore_notifications:openapi.yaml")
    config.add_migrations("shopcore_notifications:migrations")


plugin = PluginManifest(name="notifications", api="1.0", requires=(), includeme=includeme,
                        description="Mail for account and order events")
