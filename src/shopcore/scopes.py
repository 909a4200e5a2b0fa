"""Scopes: what an app's key may call, one scope per operation, stated in the served spec.

Every operation of the merged spec has a scope, `x-shopcore-scope: <area>:read|write`. A fragment may
state it per operation; otherwise the merge fills it in: the fragment's area (its top-level
`x-shopcore-scope-area`, else its plugin's allow-list name, `shop` for the core's base) with `read`
for GET and HEAD and `write` for every other method. So an operation a plugin adds has a scope
without anyone else changing a line, and the served spec (`/openapi.yaml`, `/swagger.json`, the docs
pages) says which, in the extension and in the operation's description.

A user's identity has `scopes=None` and is unaffected. An identity with scopes (an app's key, see
`config.add_credential_scheme` in `shopcore.security`) calling an operation whose scope it lacks is
refused with a 403 naming the scope, before the view's permission is even looked at; holding it, the
identity counts as an admin for that one request (`shopcore.security.ShopSecurityPolicy`), so a
key with `orders:read` lists every order and a key without `catalog:write` never passes
`request.has_permission("catalog.edit")`, on any operation.
"""
from __future__ import annotations

import re

from pyramid.viewderivers import INGRESS

from shopcore.errors import Forbidden

SCOPE = "x-shopcore-scope"
SCOPE_AREA = "x-shopcore-scope-area"
OPERATION_SCOPES = "shopcore.operation_scopes"  # registry: {(path, METHOD): scope}
# registry: {prefix: authenticate}, filled by `config.add_credential_scheme` (shopcore.security); kept
# here, the leaf, so the deriver below can tell a scheme's token without importing the policy.
CREDENTIAL_SCHEMES = "shopcore.credential_schemes"
CORE_AREA = "shop"
READ_METHODS = ("get", "head")
SCOPE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,40}:(read|write)$")
AREA_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


class ScopeError(ValueError):
    """A fragment states a scope or an area that is not of the form `area:read|write`."""


def default_scope(area: str, method: str) -> str:
    return f"{area}:{'read' if method.lower() in READ_METHODS else 'write'}"


def fill_scopes(path_item: dict, area: str, methods: tuple[str, ...]) -> None:
    """State the scope of every operation of one path item (in place): the fragment's own or the default."""
    if not AREA_PATTERN.match(area):
        raise ScopeError(f"{SCOPE_AREA} must be lower-case letters, digits, - or _, got {area!r}")
    for method in methods:
        operation = (path_item or {}).get(method)
        if operation is None:
            continue
        scope = operation.setdefault(SCOPE, default_scope(area, method))
        if not isinstance(scope, str) or not SCOPE_PATTERN.match(scope):
            raise ScopeError(f"{SCOPE} of {method.upper()} must be <area>:read or <area>:write, got {scope!r}")
        line = f"App keys need the scope `{scope}`."
        description = operation.get("description", "")
        if line not in description:
            operation["description"] = f"{description}\n\n{line}".strip()


def operation_scopes(spec: dict, methods: tuple[str, ...]) -> dict[tuple[str, str], str]:
    return {(path, method.upper()): item[method][SCOPE]
            for path, item in spec.get("paths", {}).items() for method in methods
            if method in (item or {}) and SCOPE in item[method]}


def known_scopes(registry) -> list[str]:
    """Every scope some operation of the served spec needs, sorted: what a key can usefully hold."""
    return sorted(set(registry.get(OPERATION_SCOPES, {}).values()))


def required_scope(request) -> str | None:
    """The scope of the operation this request calls; None when it matched no operation of the spec."""
    route = getattr(request, "matched_route", None)
    if route is None:
        return None
    scopes = request.registry.get(OPERATION_SCOPES, {})
    method = "GET" if request.method == "HEAD" and (route.pattern, "HEAD") not in scopes else request.method
    return scopes.get((route.pattern, method))


def bearer_token(request) -> str:
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if kind.lower() == "bearer" else ""


def credential_scheme_for(request):
    """The `authenticate` of the credential scheme whose prefix the request's bearer token has, if any."""
    token = bearer_token(request)
    if not token:
        return None
    for prefix, authenticate in request.registry.get(CREDENTIAL_SCHEMES, {}).items():
        if token.startswith(prefix):
            return authenticate
    return None


def holds_operation_scope(request, identity) -> bool:
    """True for a user; for a scoped identity, whether it holds the scope of the operation called."""
    if identity.scopes is None:
        return True
    scope = required_scope(request)
    return scope is not None and scope in identity.scopes


def scoped_view(view, info):
    """View deriver (outside the permission check): a scoped identity lacking the operation's scope gets
    a 403 naming it, whatever the view's permission, so the answer says what to ask the admin for."""
    if not info.options.get("openapi"):
        return view

    def refuse_missing_scope(context, request):
        # Only a scheme's token (an app key) can carry scopes: a user's request is not made to load its
        # identity here, on a public view that would not otherwise have.
        identity = request.identity if credential_scheme_for(request) is not None else None
        if identity is not None and identity.scopes is not None:
            scope = required_scope(request)
            if scope is None or scope not in identity.scopes:
                operation = f"{request.method} {request.matched_route.pattern if request.matched_route else request.path}"
                raise Forbidden(f"This key lacks the scope {scope} that {operation} needs.",
                                [{"field": "scope", "message": f"missing scope {scope}"}])
        return view(context, request)

    return refuse_missing_scope


def includeme(config) -> None:
    config.add_view_deriver(scoped_view, name="shopcore_scopes", under=INGRESS, over="secured_view")
