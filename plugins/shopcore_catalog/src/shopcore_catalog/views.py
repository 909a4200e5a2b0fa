"""HTTP views of the catalog: thin adapters from validated requests to the catalog service.

Reads are public and served from rendered bodies in the cache; writes need `catalog.edit` (admins).
"""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from urllib.parse import urlencode

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from shopcore.bodies import extend_bodies
from shopcore.errors import InvalidInput, NotFound

from shopcore.pagination import DEFAULT_PAGE_SIZE, page_body, public_url
from shopcore_catalog.rendered_cache import body_response, cached_body
from shopcore_catalog.api import CatalogService
from shopcore_catalog.services import (CACHE_NAMESPACE, CATEGORIES, PRODUCT_BODY, PRODUCT_LISTS, DefaultCatalogService,
                                       ProductFilters, category_body, parse_product_filters, product_body,
                                       product_collection)

EDIT_PERMISSION = "catalog.edit"
PRODUCT_FILTERS = ("category", "min_price", "max_price", "in_stock", "search", "ordering")


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
    if "price" in fields:
        fields["price"] = exact["price"]
    return fields


def canonical_filters(filters: ProductFilters, page_size: int) -> dict:
    """The filters that change the answer, in one fixed form: the cache key and the page links."""
    canonical: dict = {}
    for name in PRODUCT_FILTERS:
        value = getattr(filters, name)
        if value is None:
            continue
        canonical[name] = str(value).lower() if isinstance(value, bool) else str(value)
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
    params = canonical_filters(filters, page_size)
    cache = catalog_cache(request)
    key = cache.key(PRODUCT_LISTS, "list", page, params_digest(params))

    def remembered_count(compute):
        # The count depends on the filters only: every page and ordering of them shares it.
        count_params = {k: v for k, v in params.items() if k not in ("ordering", "page_size")}
        return cache.get_or_create(cache.key(PRODUCT_LISTS, "count", params_digest(count_params)), compute)

    def build() -> dict:
        found = catalog(request).list_products(filters, page, page_size, remembered_count)
        bodies = [product_body(product) for product in found.rows]
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


ROUTES = (
    ("catalog.categories", "/api/categories/", (("GET", list_categories), ("POST", create_category))),
    ("catalog.category", "/api/categories/{id}/", (("GET", get_category), ("PUT", update_category),
                                                   ("PATCH", update_category), ("DELETE", delete_category))),
    ("catalog.products", "/api/products/", (("GET", list_products), ("POST", create_product))),
    ("catalog.product", "/api/products/{id}/", (("GET", get_product), ("PUT", update_product),
                                                ("PATCH", update_product), ("DELETE", delete_product))),
)


def includeme(config) -> None:
    for route_name, pattern, views in ROUTES:
        config.add_route(route_name, pattern)
        for method, view in views:
            permission = NO_PERMISSION_REQUIRED if method == "GET" else EDIT_PERMISSION
            config.add_view(view, route_name=route_name, request_method=method, renderer="json", openapi=True,
                            permission=permission)
