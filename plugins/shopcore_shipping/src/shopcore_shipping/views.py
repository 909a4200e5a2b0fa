"""Shipping endpoints: admins keep zones, methods and product weights; thin views over `ShippingService`."""
from __future__ import annotations

from pyramid.response import Response

from shopcore.pagination import DEFAULT_PAGE_SIZE, public_url

from shopcore_shipping.services import ShippingService

MANAGE_PERMISSION = "shipping.manage"


def _shipping(request) -> ShippingService:
    return ShippingService(request)


def _id(request) -> int:
    return request.openapi_validated.parameters.path["id"]


def _page(request, extra=()) -> dict:
    query = request.openapi_validated.parameters.query
    page_size = query.get("page_size", DEFAULT_PAGE_SIZE)
    params = {"page_size": page_size} if page_size != DEFAULT_PAGE_SIZE else {}
    params.update({name: query[name] for name in extra if query.get(name) is not None})
    return {"page": query.get("page", 1), "page_size": page_size, "base_url": public_url(request), "params": params}


def list_zones(request):
    return _shipping(request).list_zones(**_page(request))


def create_zone(request):
    request.response.status_code = 201
    return _shipping(request).create_zone(request.openapi_validated.body)


def show_zone(request):
    return _shipping(request).get_zone(_id(request))


def update_zone(request):
    return _shipping(request).update_zone(_id(request), request.openapi_validated.body)


def delete_zone(request):
    _shipping(request).delete_zone(_id(request))
    return Response(status=204)


def list_methods(request):
    return _shipping(request).list_methods(**_page(request, ("zone",)),
                                           zone=request.openapi_validated.parameters.query.get("zone"))


def create_method(request):
    request.response.status_code = 201
    return _shipping(request).create_method(request.openapi_validated.body)


def show_method(request):
    return _shipping(request).get_method(_id(request))


def update_method(request):
    return _shipping(request).update_method(_id(request), request.openapi_validated.body)


def delete_method(request):
    _shipping(request).delete_method(_id(request))
    return Response(status=204)


def show_weight(request):
    return _shipping(request).get_weight(_id(request))


def set_weight(request):
    return _shipping(request).set_weight(_id(request), request.openapi_validated.body["weight_grams"])


def includeme(config) -> None:
    config.add_route("shipping_zones", "/api/shipping/zones/")
    config.add_route("shipping_zone", "/api/shipping/zones/{id}/")
    config.add_route("shipping_methods", "/api/shipping/methods/")
    config.add_route("shipping_method", "/api/shipping/methods/{id}/")
    config.add_route("shipping_product", "/api/shipping/products/{id}/")
    for route, method, view in (
        ("shipping_zones", "GET", list_zones),
        ("shipping_zones", "POST", create_zone),
        ("shipping_zone", "GET", show_zone),
        ("shipping_zone", "PATCH", update_zone),
        ("shipping_zone", "DELETE", delete_zone),
        ("shipping_methods", "GET", list_methods),
        ("shipping_methods", "POST", create_method),
        ("shipping_method", "GET", show_method),
        ("shipping_method", "PATCH", update_method),
        ("shipping_method", "DELETE", delete_method),
        ("shipping_product", "GET", show_weight),
        ("shipping_product", "PUT", set_weight),
    ):
        config.add_view(view, route_name=route, request_method=method, renderer="json", openapi=True,
                        permission=MANAGE_PERMISSION)
