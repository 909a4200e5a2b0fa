"""Apps and webhooks endpoints: thin views over `AppService` and `WebhookService`."""
from __future__ import annotations

from pyramid.response import Response

from shopcore.errors import InvalidInput
from shopcore.pagination import DEFAULT_PAGE_SIZE, public_url
from shopcore.public_events import public_events

from shopcore_apps.services import AppService, grantable_scopes
from shopcore_apps.webhooks import WebhookService

MANAGE_PERMISSION = "apps.manage"


def _path_id(request) -> int:
    return request.openapi_validated.parameters.path["id"]


def _page(request) -> dict:
    query = request.openapi_validated.parameters.query
    page_size = query.get("page_size", DEFAULT_PAGE_SIZE)
    return {"page": query.get("page", 1), "page_size": page_size, "base_url": public_url(request),
            "params": {"page_size": page_size} if page_size != DEFAULT_PAGE_SIZE else {}}


def _apps(request) -> AppService:
    return AppService(request)


def _webhooks(request) -> WebhookService:
    # An app sees only the subscriptions it made; an admin sees every one.
    return WebhookService(request, getattr(request.identity, "app_id", None) or None)


def list_apps(request):
    return _apps(request).list(**_page(request))


def create_app(request):
    request.response.status = 201
    return _apps(request).create(request.openapi_validated.body, created_by=request.identity.user_id)


def show_app(request):
    return _apps(request).get(_path_id(request))


def update_app(request):
    return _apps(request).update(_path_id(request), request.openapi_validated.body)


def delete_app(request):
    _apps(request).delete(_path_id(request))
    return Response(status=204)


def rotate_app_key(request):
    return _apps(request).rotate_key(_path_id(request))


def list_scopes(request):
    return {"scopes": grantable_scopes(request.registry)}


def list_webhook_events(request):
    return {"events": [{"name": event.name, "description": event.description}
                       for event in public_events(request.registry).values()]}


def list_subscriptions(request):
    return _webhooks(request).list(**_page(request))


def create_subscription(request):
    request.response.status = 201
    return _webhooks(request).create(request.openapi_validated.body)


def show_subscription(request):
    return _webhooks(request).get(_path_id(request))


def update_subscription(request):
    return _webhooks(request).update(_path_id(request), request.openapi_validated.body)


def delete_subscription(request):
    _webhooks(request).delete(_path_id(request))
    return Response(status=204)


def rotate_subscription_secret(request):
    return _webhooks(request).rotate_secret(_path_id(request), request.openapi_validated.body or {})


def list_deliveries(request):
    status = request.openapi_validated.parameters.query.get("status")
    return _webhooks(request).deliveries(_path_id(request), status=status, **_page(request))


def redeliver(request):
    import uuid

    raw = request.openapi_validated.parameters.path["id"]
    try:
        delivery_id = uuid.UUID(str(raw))
    except ValueError:
        raise InvalidInput("id", "Must be a delivery id (a UUID).") from None
    request.response.status = 202
    return _webhooks(request).redeliver(delivery_id)


ROUTES = (
    # Fixed paths before the {id} patterns they would otherwise match.
    ("apps.scopes", "/api/apps/scopes/", (("GET", list_scopes),)),
    ("apps.apps", "/api/apps/", (("GET", list_apps), ("POST", create_app))),
    ("apps.app", "/api/apps/{id}/", (("GET", show_app), ("PATCH", update_app), ("DELETE", delete_app))),
    ("apps.app_rotate_key", "/api/apps/{id}/rotate-key/", (("POST", rotate_app_key),)),
    ("apps.webhook_events", "/api/webhooks/events/", (("GET", list_webhook_events),)),
    ("apps.webhooks", "/api/webhooks/", (("GET", list_subscriptions), ("POST", create_subscription))),
    ("apps.webhook", "/api/webhooks/{id}/", (("GET", show_subscription), ("PATCH", update_subscription),
                                             ("DELETE", delete_subscription))),
    ("apps.webhook_rotate_secret", "/api/webhooks/{id}/rotate-secret/", (("POST", rotate_subscription_secret),)),
    ("apps.webhook_deliveries", "/api/webhooks/{id}/deliveries/", (("GET", list_deliveries),)),
    ("apps.webhook_redeliver", "/api/webhook-deliveries/{id}/redeliver/", (("POST", redeliver),)),
)


def includeme(config) -> None:
    for route_name, pattern, views in ROUTES:
        config.add_route(route_name, pattern)
        for method, view in views:
            config.add_view(view, route_name=route_name, request_method=method, renderer="json", openapi=True,
                            permission=MANAGE_PERMISSION)
