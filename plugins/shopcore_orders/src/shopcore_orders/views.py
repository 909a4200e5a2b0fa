"""Order endpoints: thin views over the `OrderService`; checkout and pay honour Idempotency-Key."""
from __future__ import annotations

from shopcore.idempotency import respond_idempotently
from shopcore.pagination import DEFAULT_PAGE_SIZE
from shopcore.security import AUTHENTICATED_PERMISSION

from shopcore_orders.api import OrderService

MANAGE_PERMISSION = "orders.manage"


def _orders(request) -> OrderService:
    return request.find_service(OrderService)


def _order_id(request) -> int:
    return request.openapi_validated.parameters.path["id"]


def _is_admin(request) -> bool:
    return bool(request.has_permission(MANAGE_PERMISSION))


def list_orders(request):
    query = request.openapi_validated.parameters.query
    filters = {name: query[name] for name in ("status", "user") if query.get(name) is not None}
    return _orders(request).list_orders(request.authenticated_userid, is_admin=_is_admin(request),
                                        page=query.get("page", 1), page_size=query.get("page_size", DEFAULT_PAGE_SIZE),
                                        **filters)


def checkout(request):
    body = request.openapi_validated.body
    user_id = request.authenticated_userid
    options = {name: body[name] for name in ("shipping_address_id", "billing_address", "billing_address_id",
                                             "shipping_method") if body.get(name) is not None}
    return respond_idempotently(request, user_id, lambda: (
        201, _orders(request).place_order(user_id, body.get("shipping_address"), body["payment_method"], **options)))


def show_order(request):
    return _orders(request).get_order(request.authenticated_userid, _order_id(request), is_admin=_is_admin(request))


def update_order(request):
    return _orders(request).update_order(request.authenticated_userid, _order_id(request),
                                         request.openapi_validated.body)


def cancel_order(request):
    return _orders(request).cancel(request.authenticated_userid, _order_id(request))


def pay_order(request):
    user_id, order_id = request.authenticated_userid, _order_id(request)
    return respond_idempotently(request, user_id, lambda: (200, _orders(request).pay(user_id, order_id)))


def set_order_status(request):
    return _orders(request).set_status(_order_id(request), request.openapi_validated.body["status"])


def includeme(config) -> None:
    # checkout/ before {id}/: both patterns match "/api/orders/checkout/".
    config.add_route("orders", "/api/orders/")
    config.add_route("orders_checkout", "/api/orders/checkout/")
    config.add_route("order", "/api/orders/{id}/")
    config.add_route("order_update", "/api/orders/{id}/update/")
    config.add_route("order_cancel", "/api/orders/{id}/cancel/")
    config.add_route("order_pay", "/api/orders/{id}/pay/")
    config.add_route("order_status", "/api/orders/{id}/status/")
    for route, method, view, permission in (
        ("orders", "GET", list_orders, AUTHENTICATED_PERMISSION),
        ("orders_checkout", "POST", checkout, AUTHENTICATED_PERMISSION),
        ("order", "GET", show_order, AUTHENTICATED_PERMISSION),
        ("order_update", "PATCH", update_order, AUTHENTICATED_PERMISSION),
        ("order_cancel", "POST", cancel_order, AUTHENTICATED_PERMISSION),
        ("order_pay", "POST", pay_order, AUTHENTICATED_PERMISSION),
        ("order_status", "PATCH", set_order_status, MANAGE_PERMISSION),
    ):
        config.add_view(view, route_name=route, request_method=method, renderer="json", openapi=True,
                        permission=permission)
