"""shopcore plugin `catalog`: categories and products, with filters, search, pages and a rendered-body cache."""
from shopcore.plugins import PluginManifest
from shopcore.settings import SettingsError, parse_positive_int, plugin_settings

from shopcore_catalog.demo import add_seed_arguments
from shopcore_catalog.services import CACHE_NAMESPACE, SERVICE_NAME, CatalogService


def catalog_service_factory(context, request) -> CatalogService:
    return CatalogService(request)


def cache_ttl_setting(settings) -> int | None:
    """`shopcore.catalog.cache_ttl` (seconds), when set; otherwise the core's cache TTL applies."""
    value = plugin_settings(settings, "catalog").get("cache_ttl")
    if value in (None, ""):
        return None
    try:
        return parse_positive_int(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting shopcore.catalog.cache_ttl: {exc}") from None


def includeme(config) -> None:
    config.add_cache_namespace(CACHE_NAMESPACE, ttl=cache_ttl_setting(config.get_settings()))
    config.register_service_factory(catalog_service_factory, name=SERVICE_NAME)
    config.add_openapi_fragment("shopcore_catalog:openapi.yaml")
    config.add_migrations("shopcore_catalog:migrations")
    config.include("shopcore_catalog.views")
    config.add_admin_command("seed-demo", "shopcore_catalog.demo.run_seed_demo",
                             help="Fill the catalog with demo categories and products (idempotent)",
                             add_arguments=add_seed_arguments)


plugin = PluginManifest(name="catalog", api="1.0", requires=(), includeme=includeme,
                        description="Categories and products")
