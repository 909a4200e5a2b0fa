"""shopcore plugin `catalog`: categories and products, with filters, search, pages and a rendered-body cache."""
from shopcore.plugins import PluginManifest
from shopcore.settings import Setting, parse_positive_int

from shopcore_catalog.api import CatalogService
from shopcore_catalog.demo import add_seed_arguments
from shopcore_catalog.points import declare_points
from shopcore_catalog.services import (AUDITED_ACTIONS, CACHE_NAMESPACE, PRODUCT_BODY, DefaultCatalogService,
                                       invalidate_product_bodies)


def catalog_service_factory(context, request) -> DefaultCatalogService:
    return DefaultCatalogService(request)


def parse_optional_ttl(value) -> int | None:
    """Seconds, or None (empty) for the core's cache TTL."""
    return None if value in (None, "") else parse_positive_int(value)


CATALOG_SETTINGS = (
    Setting("shopcore.catalog.cache_ttl", "", parse_optional_ttl, (),
            "Lifetime of the catalog's cached bodies in seconds; empty uses shopcore.cache.ttl."),
)


def includeme(config) -> None:
    from shopcore_catalog.public_events import declare_public_events

    config.add_settings_table("shopcore.catalog.", CATALOG_SETTINGS)
    declare_points(config)
    config.add_cache_namespace(CACHE_NAMESPACE, ttl=config.get_settings()["shopcore.catalog.cache_ttl"])
    config.register_service_factory(catalog_service_factory, CatalogService)
    config.add_extensible_body(PRODUCT_BODY, schema="Product", invalidate=invalidate_product_bodies)
    for action, doc in AUDITED_ACTIONS.items():
        config.add_audited_action(action, doc=doc)
    config.add_openapi_fragment("shopcore_catalog:openapi.yaml")
    declare_public_events(config)
    config.include("shopcore_catalog.views")
    config.add_admin_command("seed-demo", "shopcore_catalog.demo.run_seed_demo",
                             help="Fill the catalog with demo categories and products (idempotent)",
                             add_arguments=add_seed_arguments)


plugin = PluginManifest(name="catalog", api="2.0", requires=(), includeme=includeme,
                        migrations="shopcore_catalog:migrations", description="Categories and products")
