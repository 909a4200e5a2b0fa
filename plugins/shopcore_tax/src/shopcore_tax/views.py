"""Tax endpoints: admins keep tax classes, rates and each product's class; thin views over `TaxService`."""
from __future__ import annotations

from pyramid.response import Response

from shopcore.pagination import DEFAULT_PAGE_SIZE, public_url

from shopcore_tax.services import TaxService

MANAGE_PERMISSION = "tax.manage"


def _tax(request) -> TaxService:
    return TaxService(request)


def _id(request) -> int:
    return request.openapi_validated.parameters.path["id"]


def _page(request, extra=()) -> dict:
    query = request.openapi_validated.parameters.query
    page_size = query.get("page_size", DEFAULT_PAGE_SIZE)
    params = {"page_size": page_size} if page_size != DEFAULT_PAGE_SIZE else {}
    params.update({name: query[name] for name in extra if query.get(name) is not None})
    return {"page": query.get("page", 1), "page_size": page_size, "base_url": public_url(request), "params": params}


def list_classes(request):
    return _tax(request).list_classes(**_page(request))


def create_class(request):
    request.response.status_code = 201
    return _tax(request).create_class(request.openapi_validated.body)


def show_class(request):
    return _tax(request).get_class(_id(request))


def update_class(request):
    return _tax(request).update_class(_id(request), request.openapi_validated.body)


def delete_class(request):
    _tax(request).delete_class(_id(request))
    return Response(status=204)


def list_rates(request):
    return _tax(request).list_rates(**_page(request, ("country",)),
                                    country=request.openapi_validated.parameters.query.get("country"))


def create_rate(request):
    request.response.status_code = 201
    return _tax(request).create_rate(request.openapi_validated.body)


def show_rate(request):
    return _tax(request).get_rate(_id(request))


def update_rate(request):
    return _tax(request).update_rate(_id(request), request.openapi_validated.body)


def delete_rate(request):
    _tax(request).delete_rate(_id(request))
    return Response(status=204)


def show_product_class(request):
    return _tax(request).get_product_class(_id(request))


def set_product_class(request):
    return _tax(request).set_product_class(_id(request), request.openapi_validated.body["tax_class"])


def includeme(config) -> None:
    config.add_route("tax_classes", "/api/tax/classes/")
    config.add_route("tax_class", "/api/tax/classes/{id}/")
    config.add_route("tax_rates", "/api/tax/rates/")
    config.add_route("tax_rate", "/api/tax/rates/{id}/")
    config.add_route("tax_product", "/api/tax/products/{id}/")
    for route, method, view in (
        ("tax_classes", "GET", list_classes),
        ("tax_classes", "POST", create_class),
        ("tax_class", "GET", show_class),
        ("tax_class", "PATCH", update_class),
        ("tax_class", "DELETE", delete_class),
        ("tax_rates", "GET", list_rates),
        ("tax_rates", "POST", create_rate),
        ("tax_rate", "GET", show_rate),
        ("tax_rate", "PATCH", update_rate),
        ("tax_rate", "DELETE", delete_rate),
        ("tax_product", "GET", show_product_class),
        ("tax_product", "PUT", set_product_class),
    ):
        config.add_view(view, route_name=route, request_method=method, renderer="json", openapi=True,
                        permission=MANAGE_PERMISSION)
