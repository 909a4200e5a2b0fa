"""shopcore plugin `orders`: atomic checkout, payment simulation, cancellation, fulfilment, idempotency."""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    from shopcore_catalog.api import PRODUCT_REFERENCED

    from shopcore_orders.points import declare_points
    from shopcore_orders.services import CACHE_NAMESPACE, order_lines_keep_product, order_service_factory

    declare_points(config)
    config.add_openapi_fragment("shopcore_orders:openapi.yaml")
    config.add_cache_namespace(CACHE_NAMESPACE)
    config.register_service_factory(order_service_factory, name="orders")
    config.add_extension(PRODUCT_REFERENCED, order_lines_keep_product)
    config.add_admin_command("purge-idempotency-keys", "shopcore_orders.commands.purge_idempotency_keys",
                             help="Delete Idempotency-Keys older than 24 hours")
    config.include("shopcore_orders.views")
    config.include("shopcore_orders.metrics")


plugin = PluginManifest(name="orders", api="2.0", requires=("catalog", "cart"), includeme=includeme,
                        migrations="shopcore_orders:migrations",
                        description="Checkout, payment simulation and cancellation")
