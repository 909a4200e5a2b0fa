"""Payments endpoints: thin views over the `PaymentService`; payment creation and refunds honour Idempotency-Key."""
from __future__ import annotations

from pyramid.security import NO_PERMISSION_REQUIRED

from shopcore.idempotency import respond_idempotently
from shopcore.pagination import DEFAULT_PAGE_SIZE
from shopcore.security import AUTHENTICATED_PERMISSION

from shopcore_payments.api import PaymentService

MANAGE_PERMISSION = "payments.manage"


def _payments(request) -> PaymentService:
    return request.find_service(PaymentService)


def _path(request, name: str):
    return request.openapi_validated.parameters.path[name]


def _page(request) -> dict:
    query = request.openapi_validated.parameters.query
    return {"page": query.get("page", 1), "page_size": query.get("page_size", DEFAULT_PAGE_SIZE)}


def _is_admin(request) -> bool:
    return bool(request.has_permission(MANAGE_PERMISSION))


def create_payment(request):
    body = request.openapi_validated.body
    user_id, order_id = request.authenticated_userid, _path(request, "id")
    return respond_idempotently(request, user_id, lambda: (201, _payments(request).create_payment(
        user_id, order_id, body["provider"], body.get("payment_method"))))


def list_payments(request):
    return _payments(request).list_payments(request.authenticated_userid, _path(request, "id"),
                                            is_admin=_is_admin(request), **_page(request))


def receive_webhook(request):
    return _payments(request).receive_webhook(_path(request, "provider"))


def create_refund(request):
    body = request.openapi_validated.body
    admin_id, order_id = request.authenticated_userid, _path(request, "id")
    return respond_idempotently(request, admin_id, lambda: (201, _payments(request).refund(
        order_id, reason=body["reason"], amount=body.get("amount"), lines=body.get("lines"), admin_id=admin_id)))


def request_return(request):
    body = request.openapi_validated.body
    request.response.status_int = 201
    return _payments(request).request_return(request.authenticated_userid, _path(request, "id"), body["lines"],
                                             body["reason"])


def list_returns(request):
    status = request.openapi_validated.parameters.query.get("status")
    return _payments(request).list_returns(request.authenticated_userid, is_admin=_is_admin(request), status=status,
                                           **_page(request))


def show_return(request):
    return _payments(request).get_return(request.authenticated_userid, _path(request, "id"),
                                         is_admin=_is_admin(request))


def approve_return(request):
    body = request.openapi_validated.body or {}
    return _payments(request).approve_return(_path(request, "id"), admin_id=request.authenticated_userid,
                                             restock=bool(body.get("restock", False)))


def reject_return(request):
    return _payments(request).reject_return(_path(request, "id"), admin_id=request.authenticated_userid,
                                            note=request.openapi_validated.body["note"])


def includeme(config) -> None:
    config.add_route("payments.order_payments", "/api/orders/{id}/payments/")
    config.add_route("payments.order_refunds", "/api/orders/{id}/refunds/")
    config.add_route("payments.order_returns", "/api/orders/{id}/returns/")
    config.add_route("payments.webhooks", "/api/payments/webhooks/{provider}/")
    config.add_route("payments.returns", "/api/returns/")
    config.add_route("payments.return", "/api/returns/{id}/")
    config.add_route("payments.return_approve", "/api/returns/{id}/approve/")
    config.add_route("payments.return_reject", "/api/returns/{id}/reject/")
    for route, method, view, permission in (
        ("payments.order_payments", "POST", create_payment, AUTHENTICATED_PERMISSION),
        ("payments.order_payments", "GET", list_payments, AUTHENTICATED_PERMISSION),
        ("payments.order_refunds", "POST", create_refund, MANAGE_PERMISSION),
        ("payments.order_returns", "POST", request_return, AUTHENTICATED_PERMISSION),
        # Providers call it without a token: the signature of the body is its only authentication.
        ("payments.webhooks", "POST", receive_webhook, NO_PERMISSION_REQUIRED),
        ("payments.returns", "GET", list_returns, AUTHENTICATED_PERMISSION),
        ("payments.return", "GET", show_return, AUTHENTICATED_PERMISSION),
        ("payments.return_approve", "POST", approve_return, MANAGE_PERMISSION),
        ("payments.return_reject", "POST", reject_return, MANAGE_PERMISSION),
    ):
        config.add_view(view, route_name=route, request_method=method, renderer="json", openapi=True,
                        permission=permission)
