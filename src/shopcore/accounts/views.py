"""Account endpoints under `/api/auth/`: thin views over `shopcore.accounts.services`."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.security import NO_PERMISSION_REQUIRED

from shopcore.accounts import addresses, services
from shopcore.security import AUTHENTICATED_PERMISSION


def user_body(user) -> dict:
    return {"id": user.id, "username": user.username, "email": user.email,
            "first_name": user.first_name, "last_name": user.last_name}


def register_view(request):
    body = request.openapi_validated.body
    user = services.register(request, username=body["username"], email=body["email"], password=body["password"],
                             first_name=body.get("first_name", ""), last_name=body.get("last_name", ""))
    request.response.status_code = 201
    return user_body(user)


def login_view(request):
    body = request.openapi_validated.body
    return services.log_in(request, username=body["username"], password=body["password"])


def refresh_view(request):
    return services.refresh_tokens(request, refresh=request.openapi_validated.body["refresh"])


def logout_view(request):
    body = request.openapi_validated.body or {}
    services.log_out(request, request.identity, refresh=body.get("refresh"))
    return HTTPNoContent()


def user_view(request):
    return user_body(services.get_user(request, request.identity.user_id))


def update_user_view(request):
    return user_body(services.update_profile(request, request.identity.user_id, dict(request.openapi_validated.body)))


def export_user_view(request):
    return services.export_user_data(request, request.identity.user_id)


def delete_user_view(request):
    services.delete_account(request, request.identity.user_id, password=request.openapi_validated.body["password"])
    return HTTPNoContent()


def change_password_view(request):
    body = request.openapi_validated.body
    services.change_password(request, request.identity.user_id, old_password=body["old_password"],
                             new_password=body["new_password"])
    return HTTPNoContent()


def reset_password_view(request):
    return {"detail": services.request_password_reset(request, email=request.openapi_validated.body["email"])}


def confirm_reset_view(request):
    body = request.openapi_validated.body
    services.confirm_password_reset(request, uid=body["uid"], token=body["token"], new_password=body["new_password"])
    return HTTPNoContent()


def confirm_email_view(request):
    body = request.openapi_validated.body
    services.confirm_email_change(request, uid=body["uid"], token=body["token"])
    return HTTPNoContent()


def undo_email_view(request):
    body = request.openapi_validated.body
    services.undo_email_change(request, uid=body["uid"], token=body["token"])
    return {"detail": services.EMAIL_RESTORED_DETAIL}


def _address_id(request) -> int:
    return request.openapi_validated.parameters.path["id"]


def list_addresses_view(request):
    return addresses.list_addresses(request, request.identity.user_id)


def create_address_view(request):
    request.response.status_code = 201
    return addresses.create_address(request, request.identity.user_id, request.openapi_validated.body)


def show_address_view(request):
    return addresses.show_address(request, request.identity.user_id, _address_id(request))


def update_address_view(request):
    return addresses.update_address(request, request.identity.user_id, _address_id(request),
                                    request.openapi_validated.body)


def delete_address_view(request):
    addresses.delete_address(request, request.identity.user_id, _address_id(request))
    return HTTPNoContent()


# (route name, path, method, view, permission)
ROUTES = (
    ("auth_register", "/api/auth/register/", "POST", register_view, NO_PERMISSION_REQUIRED),
    ("auth_login", "/api/auth/login/", "POST", login_view, NO_PERMISSION_REQUIRED),
    ("auth_refresh", "/api/auth/refresh/", "POST", refresh_view, NO_PERMISSION_REQUIRED),
    ("auth_logout", "/api/auth/logout/", "POST", logout_view, AUTHENTICATED_PERMISSION),
    ("auth_user", "/api/auth/user/", "GET", user_view, AUTHENTICATED_PERMISSION),
    ("auth_user", "/api/auth/user/", "PATCH", update_user_view, AUTHENTICATED_PERMISSION),
    ("auth_user", "/api/auth/user/", "DELETE", delete_user_view, AUTHENTICATED_PERMISSION),
    ("auth_user_export", "/api/auth/user/export/", "GET", export_user_view, AUTHENTICATED_PERMISSION),
    ("auth_password_change", "/api/auth/password/change/", "POST", change_password_view, AUTHENTICATED_PERMISSION),
    ("auth_password_reset", "/api/auth/password/reset/", "POST", reset_password_view, NO_PERMISSION_REQUIRED),
    ("auth_password_reset_confirm", "/api/auth/password/reset/confirm/", "POST", confirm_reset_view,
     NO_PERMISSION_REQUIRED),
    # Opened from a mail, maybe on another device: the link's token is the proof, not a login.
    ("auth_email_confirm", "/api/auth/email/confirm/", "POST", confirm_email_view, NO_PERMISSION_REQUIRED),
    ("auth_email_undo", "/api/auth/email/undo/", "POST", undo_email_view, NO_PERMISSION_REQUIRED),
    # The address book: each customer's own (another's address is a 404).
    ("auth_addresses", "/api/auth/user/addresses/", "GET", list_addresses_view, AUTHENTICATED_PERMISSION),
    ("auth_addresses", "/api/auth/user/addresses/", "POST", create_address_view, AUTHENTICATED_PERMISSION),
    ("auth_address", "/api/auth/user/addresses/{id}/", "GET", show_address_view, AUTHENTICATED_PERMISSION),
    ("auth_address", "/api/auth/user/addresses/{id}/", "PATCH", update_address_view, AUTHENTICATED_PERMISSION),
    ("auth_address", "/api/auth/user/addresses/{id}/", "DELETE", delete_address_view, AUTHENTICATED_PERMISSION),
)


def add_account_views(config) -> None:
    added = set()
    for name, path, method, view, permission in ROUTES:
        if name not in added:
            config.add_route(name, path)
            added.add(name)
        config.add_view(view, route_name=name, request_method=method, renderer="json", openapi=True,
                        permission=permission)
