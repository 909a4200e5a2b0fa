"""shopcore plugin `orders`: atomic checkout, payment (simulated, or taken by the `orders.pay` extension
point's implementation: the payments plugin), cancellation, fulfilment, refund states, idempotency,
expiry of unpaid orders (settings in `shopcore_orders.settings`)."""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    from shopcore.accounts.personal_data import ERASURE_POINT as PERSONAL_DATA_ERASURE
    from shopcore.accounts.personal_data import EXPORT_POINT as PERSONAL_DATA_EXPORT
    from shopcore_catalog.api import PRODUCT_REFERENCED

    from shopcore_orders.api import OrderService
    from shopcore_orders.expiry import expire_orders_task
    from shopcore_orders.points import declare_points
    from shopcore_orders.public_events import declare_public_events
    from shopcore_orders.services import (CACHE_NAMESPACE, CHECKOUT_RATE_LIMIT, ORDER_BODY, STATUS_CHANGED,
                                          forget_order_bodies,
                                          order_lines_keep_product, order_service_factory)
    from shopcore_orders.settings import ORDERS_SETTINGS, PREFIX, SETTINGS_KEY, order_settings

    config.add_settings_table(PREFIX, ORDERS_SETTINGS)
    settings = order_settings(config.get_settings())
    config.registry[SETTINGS_KEY] = settings
    config.registry["shopcore.accounts.rate_limits"].add_rate(CHECKOUT_RATE_LIMIT, settings.checkout_rate)

    declare_points(config)
    config.add_audited_action(STATUS_CHANGED, doc="An admin moved an order on (shipped, delivered)")
    config.add_openapi_fragment("shopcore_orders:openapi.yaml")
    declare_public_events(config)
    config.add_cache_namespace(CACHE_NAMESPACE)
    config.register_service_factory(order_service_factory, OrderService)
    config.add_extensible_body(ORDER_BODY, schema="Order", invalidate=forget_order_bodies)
    config.add_extension(PRODUCT_REFERENCED, order_lines_keep_product)
    config.add_extension(PERSONAL_DATA_EXPORT, "shopcore_orders.personal_data.export_orders")
    config.add_extension(PERSONAL_DATA_ERASURE, "shopcore_orders.personal_data.erase_orders")
    config.add_admin_command("expire-orders", "shopcore_orders.commands.expire_orders",
                             help="Cancel unpaid orders older than shopcore.orders.pending_ttl, returning their stock")
    config.add_periodic_task("orders.expire", expire_orders_task, interval=settings.expire_interval)
    config.include("shopcore_orders.views")
    config.include("shopcore_orders.metrics")


plugin = PluginManifest(name="orders", api="2.1", requires=("catalog", "cart"), includeme=includeme,
                        migrations="shopcore_orders:migrations",
                        description="Checkout, payment simulation and cancellation")
