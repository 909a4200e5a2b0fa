"""shopcore plugin `catalog`: categories, products with variants, typed attributes and images, with
filters, search, pages, a rendered-body cache, and CSV import and export commands."""
from pyramid.exceptions import ConfigurationError

from shopcore.plugins import PluginManifest
from shopcore.settings import Setting, parse_choice, parse_positive_int, parse_str

from shopcore_catalog.api import CatalogService
from shopcore_catalog.demo import add_seed_arguments
from shopcore_catalog.images import ImageLimits
from shopcore_catalog.media import MediaStorage, media_storage_from_settings
from shopcore_catalog.points import declare_points
from shopcore_catalog.services import (AUDITED_ACTIONS, CACHE_NAMESPACE, PRODUCT_BODY, DefaultCatalogService,
                                       invalidate_product_bodies)
from shopcore_catalog.transfer import add_export_arguments, add_import_arguments

# What a multipart body carries beside the file (boundaries, headers, the alt text).
MULTIPART_OVERHEAD = 64 * 1024


def catalog_service_factory(context, request) -> DefaultCatalogService:
    return DefaultCatalogService(request)


def parse_optional_ttl(value) -> int | None:
    """Seconds, or None (empty) for the core's cache TTL."""
    return None if value in (None, "") else parse_positive_int(value)


CATALOG_SETTINGS = (
    Setting("shopcore.catalog.cache_ttl", "", parse_optional_ttl, (),
            "Lifetime of the catalog's cached bodies in seconds; empty uses shopcore.cache.ttl."),
    Setting("shopcore.catalog.media_storage", "", parse_choice("", "filesystem", "s3"),
            ("SHOPCORE_MEDIA_STORAGE",),
            "Where product images are kept: filesystem (served under media_url) or s3; empty: s3 when "
            "s3_bucket is set, else filesystem."),
    Setting("shopcore.catalog.media_root", "", parse_str, ("SHOPCORE_MEDIA_ROOT",),
            "Folder of the filesystem storage; empty is var/media under the working directory."),
    Setting("shopcore.catalog.media_url", "/media/", parse_str, (),
            "URL prefix of the filesystem storage's files; a path (/media/) is served by the app itself."),
    Setting("shopcore.catalog.s3_bucket", "", parse_str, ("SHOPCORE_S3_BUCKET",), "Bucket of the s3 storage."),
    Setting("shopcore.catalog.s3_endpoint_url", "", parse_str, ("SHOPCORE_S3_ENDPOINT_URL",),
            "S3-compatible endpoint (MinIO, Ceph, ...); empty is AWS S3."),
    Setting("shopcore.catalog.s3_region", "", parse_str, ("SHOPCORE_S3_REGION", "AWS_DEFAULT_REGION"),
            "Region of the bucket."),
    Setting("shopcore.catalog.s3_access_key_id", "", parse_str, ("SHOPCORE_S3_ACCESS_KEY_ID",),
            "Access key; empty leaves boto3 its own lookup (AWS_ACCESS_KEY_ID, instance roles)."),
    Setting("shopcore.catalog.s3_secret_access_key", "", parse_str, ("SHOPCORE_S3_SECRET_ACCESS_KEY",),
            "Secret key; empty leaves boto3 its own lookup."),
    Setting("shopcore.catalog.s3_public_url", "", parse_str, ("SHOPCORE_S3_PUBLIC_URL",),
            "Base URL the images are served from (a CDN); empty is the endpoint's bucket URL."),
    Setting("shopcore.catalog.image_max_bytes", 960 * 1024, parse_positive_int, (),
            "Largest image upload in bytes (413 past it); must fit in shopcore.max_body_bytes with 64 KiB to spare."),
    Setting("shopcore.catalog.image_max_pixels", 40_000_000, parse_positive_int, (),
            "Most pixels (width x height) an image may have; more is a 400, decompression bombs included."),
    Setting("shopcore.catalog.thumbnail_size", 320, parse_positive_int, (),
            "Thumbnails fit in a square of this many pixels."),
)


def check_media_settings(settings) -> None:
    if not settings["shopcore.catalog.media_storage"]:
        settings["shopcore.catalog.media_storage"] = "s3" if settings["shopcore.catalog.s3_bucket"] else "filesystem"
    if settings["shopcore.catalog.media_storage"] == "s3" and not settings["shopcore.catalog.s3_bucket"]:
        raise ConfigurationError("setting shopcore.catalog.s3_bucket: the s3 media storage needs a bucket")
    if settings["shopcore.catalog.image_max_bytes"] + MULTIPART_OVERHEAD > settings["shopcore.max_body_bytes"]:
        raise ConfigurationError(
            f"setting shopcore.catalog.image_max_bytes: {settings['shopcore.catalog.image_max_bytes']} plus "
            f"{MULTIPART_OVERHEAD} bytes of form overhead exceeds shopcore.max_body_bytes "
            f"({settings['shopcore.max_body_bytes']}); raise shopcore.max_body_bytes with it")


def includeme(config) -> None:
    from shopcore_catalog.public_events import declare_public_events

    config.add_settings_table("shopcore.catalog.", CATALOG_SETTINGS)
    settings = config.get_settings()
    check_media_settings(settings)
    declare_points(config)
    config.add_cache_namespace(CACHE_NAMESPACE, ttl=settings["shopcore.catalog.cache_ttl"])
    config.register_service_factory(catalog_service_factory, CatalogService)
    media = media_storage_from_settings(settings)
    config.register_service(media, MediaStorage)
    config.register_service(ImageLimits.from_settings(settings), ImageLimits)
    if settings["shopcore.catalog.media_storage"] == "filesystem" and settings["shopcore.catalog.media_url"].startswith("/"):
        # Development: the app serves the uploaded files itself (production serves them from S3 or a CDN).
        config.add_static_view(name=settings["shopcore.catalog.media_url"].strip("/") or "media",
                               path=str(media.root), cache_max_age=3600)
    config.add_extensible_body(PRODUCT_BODY, schema="Product", invalidate=invalidate_product_bodies)
    for action, doc in AUDITED_ACTIONS.items():
        config.add_audited_action(action, doc=doc)
    config.add_openapi_fragment("shopcore_catalog:openapi.yaml")
    declare_public_events(config)
    config.include("shopcore_catalog.views")
    config.add_admin_command("seed-demo", "shopcore_catalog.demo.run_seed_demo",
                             help="Fill the catalog with demo categories and products (idempotent)",
                             add_arguments=add_seed_arguments)
    config.add_admin_command("catalog-import", "shopcore_catalog.transfer.run_import",
                             help="Import products and variants from a CSV file (upsert by SKU)",
                             add_arguments=add_import_arguments)
    config.add_admin_command("catalog-export", "shopcore_catalog.transfer.run_export",
                             help="Export every product and variant to a CSV file (the import's format)",
                             add_arguments=add_export_arguments)


plugin = PluginManifest(name="catalog", api="2.0", requires=(), includeme=includeme,
                        migrations="shopcore_catalog:migrations", description="Categories and products")
