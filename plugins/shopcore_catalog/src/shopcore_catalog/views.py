"""HTTP views of the catalog: thin adapters from validated requests to the catalog service.

Reads are public and served from rendered bodies in the cache; writes, variants, inactive products
and image uploads need `catalog.edit` (admins).
"""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from urllib.parse import urlencode

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from shopcore.bodies import extend_bodies
from shopcore.errors import Forbidden, InvalidInput, NotFound, ShopError

from shopcore.pagination import DEFAULT_PAGE_SIZE, page_body, public_url
from shopcore_catalog.rendered_cache import body_response, cached_body
from shopcore_catalog.api import CatalogService
from shopcore_catalog.services import (ATTRIBUTES, CACHE_NAMESPACE, CATEGORIES, PRODUCT_BODY, PRODUCT_LISTS,
                                       DefaultCatalogService, ProductFilters, attribute_body, category_body,
                                       parse_product_filters, product_collection)

EDIT_PERMISSION = "catalog.edit"
PRODUCT_FILTERS = ("category", "min_price", "max_price", "in_stock", "search", "ordering")
# Fields read again from the raw body with exact decimals (the OpenAPI layer parsed numbers as floats).
EXACT_FIELDS = ("price", "variants", "attributes")


def catalog(request) -> DefaultCatalogService:
    # The catalog's own implementation: its views also use what the interface leaves out.
    return request.find_service(CatalogService)


def catalog_cache(request):
    return request.cache(CACHE_NAMESPACE)


def query_parameters(request) -> dict:
    return dict(request.openapi_validated.parameters.query)


def path_id(request) -> int:
    return request.openapi_validated.parameters.path["id"]


def page_parameters(query: dict) -> tuple[int, int]:
    return query.get("page") or 1, query.get("page_size") or DEFAULT_PAGE_SIZE


def json_body(request) -> dict:
    """The validated body, with every number read from the raw text as a Decimal, never a float.

    The OpenAPI layer has already checked the body's shape (known fields, types, lengths), but it
    parsed numbers as floats; prices are read again, exactly.
    """
    fields = dict(request.openapi_validated.body)

    def refuse_constant(name: str):
        raise InvalidInput("body", f"{name} is not a number.")

    exact = json.loads(request.body, parse_float=Decimal, parse_constant=refuse_constant)
    for name in EXACT_FIELDS:
        if name in fields:
            fields[name] = exact[name]
    return fields


def canonical_filters(filters: ProductFilters, page_size: int) -> dict:
    """The filters that change the answer, in one fixed form: the cache key and the page links."""
    canonical: dict = {}
    for name in PRODUCT_FILTERS:
        value = getattr(filters, name)
        if value is None:
            continue
        canonical[name] = str(value).lower() if isinstance(value, bool) else str(value)
    if filters.is_active is not True:  # the customers' list is the default, left out of links and keys
        canonical["is_active"] = "all" if filters.is_active is None else "false"
    if filters.attributes:
        canonical["attribute"] = [f"{code}:{value}" for code, value in filters.attributes]
    if page_size != DEFAULT_PAGE_SIZE:
        canonical["page_size"] = page_size
    return canonical


def params_digest(params: dict) -> str:
    """A fixed-length cache key part for canonical parameters (a search's words are free text)."""
    return hashlib.blake2b(urlencode(sorted(params.items())).encode(), digest_size=16).hexdigest()


# --- categories ------------------------------------------------------------------------------------

def list_categories(request):
    page, page_size = page_parameters(query_parameters(request))
    params = {"page_size": page_size} if page_size != DEFAULT_PAGE_SIZE else {}
    cache = catalog_cache(request)
    # Keys hold validated values only: never the URL, whose Host any client sets.
    key = cache.key(CATEGORIES, "list", page, page_size)

    def build() -> dict:
        found = catalog(request).list_categories(page, page_size)
        return page_body(found, [category_body(category) for category in found.rows], public_url(request), params)

    return body_response(request, cached_body(request, cache, key, build))


def create_category(request):
    request.response.status_code = 201
    return catalog(request).add_category(json_body(request))


def get_category(request):
    category_id = path_id(request)
    cache = catalog_cache(request)
    key = cache.key(CATEGORIES, "detail", category_id)
    return body_response(request, cached_body(request, cache, key,
                                              lambda: catalog(request).category_detail(category_id)))


def update_category(request):
    return catalog(request).update_category(path_id(request), json_body(request))


def delete_category(request):
    catalog(request).delete_category(path_id(request))
    return Response(status=204)


# --- products ----------------------------------------------------------------------------------------

def list_products(request):
    query = query_parameters(request)
    page, page_size = page_parameters(query)
    filters = parse_product_filters(query)
    if filters.is_active is not True and not request.has_permission(EDIT_PERMISSION):
        raise Forbidden("Only admins may list inactive products.",
                        [{"field": "is_active", "message": "Only admins may list inactive products."}])
    params = canonical_filters(filters, page_size)
    cache = catalog_cache(request)
    key = cache.key(PRODUCT_LISTS, "list", page, params_digest(params))

    def remembered_count(compute):
        # The count depends on the filters only: every page and ordering of them shares it.
        count_params = {k: v for k, v in params.items() if k not in ("ordering", "page_size")}
        return cache.get_or_create(cache.key(PRODUCT_LISTS, "count", params_digest(count_params)), compute)

    def build() -> dict:
        service = catalog(request)
        found = service.list_products(filters, page, page_size, remembered_count)
        bodies = service.product_bodies(found.rows)
        # Other plugins' fields (body extensions), one call per page; cached with the page.
        extend_bodies(request, PRODUCT_BODY, bodies)
        return page_body(found, bodies, public_url(request), params)

    return body_response(request, cached_body(request, cache, key, build))


def create_product(request):
    request.response.status_code = 201
    return catalog(request).add_product(json_body(request))


def get_product(request):
    product_id = path_id(request)
    cache = catalog_cache(request)
    key = cache.key(product_collection(product_id), "detail", product_id)

    def build() -> dict:
        body = catalog(request).product_detail(product_id)
        extend_bodies(request, PRODUCT_BODY, [body])
        return body

    rendered = cached_body(request, cache, key, build, is_public=lambda body: body["is_active"])
    # A deactivated product is gone for customers; admins still see it (and may reactivate it).
    if not rendered.public and not request.has_permission(EDIT_PERMISSION):
        raise NotFound("Product not found.")
    return body_response(request, rendered)


def update_product(request):
    return catalog(request).update_product(path_id(request), json_body(request))


def delete_product(request):
    catalog(request).delete_product(path_id(request))
    return Response(status=204)


# --- variants (admin) -------------------------------------------------------------------------------------

def create_variant(request):
    request.response.status_code = 201
    return catalog(request).add_variant(path_id(request), json_body(request))


def get_variant(request):
    return catalog(request).variant_detail(path_id(request))


def update_variant(request):
    return catalog(request).update_variant(path_id(request), json_body(request))


def delete_variant(request):
    catalog(request).delete_variant(path_id(request))
    return Response(status=204)


# --- attribute definitions ------------------------------------------------------------------------------

def list_attributes(request):
    page, page_size = page_parameters(query_parameters(request))
    params = {"page_size": page_size} if page_size != DEFAULT_PAGE_SIZE else {}
    cache = catalog_cache(request)
    key = cache.key(ATTRIBUTES, "list", page, page_size)

    def build() -> dict:
        found = catalog(request).list_attributes(page, page_size)
        return page_body(found, [attribute_body(attribute) for attribute in found.rows], public_url(request), params)

    return body_response(request, cached_body(request, cache, key, build))


def create_attribute(request):
    request.response.status_code = 201
    return catalog(request).add_attribute(dict(request.openapi_validated.body))


def get_attribute(request):
    return catalog(request).attribute_detail(path_id(request))


def update_attribute(request):
    return catalog(request).update_attribute(path_id(request), dict(request.openapi_validated.body))


def delete_attribute(request):
    catalog(request).delete_attribute(path_id(request))
    return Response(status=204)


# --- images (admin) ----------------------------------------------------------------------------------------

UPLOAD_FIELDS = ("file", "alt")


def upload_image(request):
    unknown = sorted(set(request.POST) - set(UPLOAD_FIELDS))
    if unknown:  # a closed form, as every JSON body is
        raise ShopError(f"{unknown[0]}: Unknown field.", [{"field": name, "message": "Unknown field."}
                                                          for name in unknown])
    upload = request.POST.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInput("file", "Upload the image as a file field named file.")
    alt = request.POST.get("alt")
    request.response.status_code = 201
    return catalog(request).add_image(path_id(request), upload, alt if isinstance(alt, str) else None)


def update_image(request):
    return catalog(request).update_image(path_id(request), dict(request.openapi_validated.body))


def delete_image(request):
    catalog(request).delete_image(path_id(request))
    return Response(status=204)


PUBLIC, ADMIN = NO_PERMISSION_REQUIRED, EDIT_PERMISSION
ROUTES = (
    ("catalog.categories", "/api/categories/", (("GET", list_categories, PUBLIC), ("POST", create_category, ADMIN))),
    ("catalog.category", "/api/categories/{id}/", (("GET", get_category, PUBLIC), ("PUT", update_category, ADMIN),
                                                   ("PATCH", update_category, ADMIN),
                                                   ("DELETE", delete_category, ADMIN))),
    ("catalog.products", "/api/products/", (("GET", list_products, PUBLIC), ("POST", create_product, ADMIN))),
    ("catalog.product", "/api/products/{id}/", (("GET", get_product, PUBLIC), ("PUT", update_product, ADMIN),
                                                ("PATCH", update_product, ADMIN), ("DELETE", delete_product, ADMIN))),
    ("catalog.product_variants", "/api/products/{id}/variants/", (("POST", create_variant, ADMIN),)),
    ("catalog.variant", "/api/variants/{id}/", (("GET", get_variant, ADMIN), ("PATCH", update_variant, ADMIN),
                                                ("DELETE", delete_variant, ADMIN))),
    ("catalog.attributes", "/api/attributes/", (("GET", list_attributes, PUBLIC), ("POST", create_attribute, ADMIN))),
    ("catalog.attribute", "/api/attributes/{id}/", (("GET", get_attribute, PUBLIC), ("PATCH", update_attribute, ADMIN),
                                                    ("DELETE", delete_attribute, ADMIN))),
    ("catalog.product_images", "/api/products/{id}/images/", (("POST", upload_image, ADMIN),)),
    ("catalog.image", "/api/images/{id}/", (("PATCH", update_image, ADMIN), ("DELETE", delete_image, ADMIN))),
)


def includeme(config) -> None:
    for route_name, pattern, views in ROUTES:
        config.add_route(route_name, pattern)
        for method, view, permission in views:
            config.add_view(view, route_name=route_name, request_method=method, renderer="json", openapi=True,
                            permission=permission)
