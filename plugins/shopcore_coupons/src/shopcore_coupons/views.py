"""Coupon endpoints: admins manage codes, a customer puts one on their own cart; thin views over the service."""
from __future__ import annotations

from pyramid.response import Response

from shopcore.pagination import DEFAULT_PAGE_SIZE, public_url
from shopcore.security import AUTHENTICATED_PERMISSION

from shopcore_coupons.services import CouponService

MANAGE_PERMISSION = "coupons.manage"


def _coupons(request) -> CouponService:
    return request.find_service(CouponService)


def _coupon_id(request) -> int:
    return request.openapi_validated.parameters.path["id"]


def list_coupons(request):
    query = request.openapi_validated.parameters.query
    page_size = query.get("page_size", DEFAULT_PAGE_SIZE)
    params = {"page_size": page_size} if page_size != DEFAULT_PAGE_SIZE else {}
    return _coupons(request).list(page=query.get("page", 1), page_size=page_size, base_url=public_url(request),
                                  params=params)


def create_coupon(request):
    request.response.status_code = 201
    return _coupons(request).create(request.openapi_validated.body)


def show_coupon(request):
    return _coupons(request).get(_coupon_id(request))


def update_coupon(request):
    return _coupons(request).update(_coupon_id(request), request.openapi_validated.body)


def delete_coupon(request):
    _coupons(request).delete(_coupon_id(request))
    return Response(status=204)


def show_cart_coupon(request):
    return _coupons(request).applied(request.identity.user_id)


def apply_cart_coupon(request):
    return _coupons(request).apply(request.identity.user_id, request.openapi_validated.body["code"])


def remove_cart_coupon(request):
    _coupons(request).remove(request.identity.user_id)
    return Response(status=204)


def includeme(config) -> None:
    config.add_route("coupons", "/api/coupons/")
    config.add_route("coupon", "/api/coupons/{id}/")
    config.add_route("cart_coupon", "/api/cart/coupon/")
    for route, method, view, permission in (
        ("coupons", "GET", list_coupons, MANAGE_PERMISSION),
        ("coupons", "POST", create_coupon, MANAGE_PERMISSION),
        ("coupon", "GET", show_coupon, MANAGE_PERMISSION),
        ("coupon", "PATCH", update_coupon, MANAGE_PERMISSION),
        ("coupon", "DELETE", delete_coupon, MANAGE_PERMISSION),
        ("cart_coupon", "GET", show_cart_coupon, AUTHENTICATED_PERMISSION),
        ("cart_coupon", "POST", apply_cart_coupon, AUTHENTICATED_PERMISSION),
        ("cart_coupon", "DELETE", remove_cart_coupon, AUTHENTICATED_PERMISSION),
    ):
        config.add_view(view, route_name=route, request_method=method, renderer="json", openapi=True,
                        permission=permission)
