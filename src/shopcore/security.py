"""Security: a Pyramid 2 security policy over JWT bearer tokens made and read by pyramid_jwt.

The policy turns `Authorization: Bearer <access token>` into an `Identity`, asks the accounts
service whether the token still stands (not revoked, not older than the user's last password
change, user active), and answers permission checks with an ACL. Plugins declare permissions on
their views (`permission="catalog.edit"`); admins hold every permission, customers the ones granted
to `Authenticated` with `config.grant_permission`.

Other credentials than JWTs (an app's API key) come from plugins: `config.add_credential_scheme(prefix,
authenticate)` hands bearer tokens starting with `prefix` to `authenticate(request, token)` instead.
Such an identity may carry `scopes` (`shopcore.scopes`): it is an admin only for an operation whose
scope it holds.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from pyramid.authorization import ALL_PERMISSIONS, Allow, Authenticated, Everyone, ACLHelper
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import ISecurityPolicy
from pyramid_jwt.policy import JWTAuthenticationPolicy
from zope.interface import implementer

from shopcore.plugins import current_owner
from shopcore.scopes import CREDENTIAL_SCHEMES, bearer_token, credential_scheme_for, holds_operation_scope

log = logging.getLogger(__name__)

ADMIN = "role:admin"
# Permission every logged-in user holds; views of a user's own data use it.
AUTHENTICATED_PERMISSION = "shop.authenticated"
JWT_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Identity:
    user_id: int
    username: str
    is_admin: bool
    token_id: str
    token_expires_at: int
    session_id: str = ""  # the login session the token belongs to; logout revokes it
    # An app key's scopes (`shopcore.scopes`); None for a user, whose role alone decides.
    scopes: frozenset[str] | None = None


class RootFactory:
    """The root resource; its ACL grows through `config.grant_permission`."""

    def __init__(self, request):
        self.__acl__ = request.registry["shopcore.acl"]


def make_token_codec(settings) -> JWTAuthenticationPolicy:
    # Used only as pyramid_jwt's token maker and reader, never installed as a (deprecated) policy.
    return JWTAuthenticationPolicy(
        private_key=settings["shopcore.secret"],
        algorithm=JWT_ALGORITHM,
        expiration=settings["shopcore.jwt.access_ttl"],
        leeway=0,
        http_header="Authorization",
        auth_type="Bearer",
    )


@implementer(ISecurityPolicy)
class ShopSecurityPolicy:
    def __init__(self):
        self.acl = ACLHelper()

    def identity(self, request) -> Identity | None:
        # Cached on the request: the token is read and checked once per request.
        if "shopcore.identity" not in request.environ:
            request.environ["shopcore.identity"] = self._load_identity(request)
        return request.environ["shopcore.identity"]

    def _load_identity(self, request) -> Identity | None:
        scheme = credential_scheme_for(request)
        if scheme is not None:
            return scheme(request, bearer_token(request))
        codec = request.registry["shopcore.token_codec"]
        claims = codec.get_claims(request)  # {} for any token that does not verify
        if not claims or claims.get("type") != "access":
            return None
        verify = request.registry.get("shopcore.identity_verifier")
        if verify is None:
            return None
        return verify(request, claims)

    def authenticated_userid(self, request):
        identity = self.identity(request)
        return None if identity is None else identity.user_id

    def effective_principals(self, request) -> list[str]:
        principals = [Everyone]
        identity = self.identity(request)
        if identity is not None:
            principals += [Authenticated, f"user:{identity.user_id}"]
            if identity.is_admin and holds_operation_scope(request, identity):
                principals.append(ADMIN)
        return principals

    def permits(self, request, context, permission):
        return self.acl.permits(context, self.effective_principals(request), permission)

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []


def grant_permission(config, principal: str, permission: str) -> None:
    """Let a principal (`Authenticated`, `Everyone`, ...) hold a permission on the root."""

    def register():
        config.registry["shopcore.acl"].insert(-1, (Allow, principal, permission))

    # Two plugins may grant the same permission (a grant is not a part one of them owns), so the
    # owner is part of the discriminator; one owner granting twice is a single grant.
    config.action(("shopcore.grant", principal, permission, current_owner(config)), register)


def set_identity_verifier(config, verifier) -> None:
    """The accounts package decides whether a decoded access token still stands (one verifier only)."""
    verifier = config.maybe_dotted(verifier)

    def register():
        config.registry["shopcore.identity_verifier"] = verifier

    config.action(("shopcore.identity_verifier",), register)


def add_credential_scheme(config, prefix: str, authenticate) -> None:
    """Bearer tokens starting with `prefix` (`"shk_"`) are read by `authenticate(request, token) ->
    Identity | None` rather than as JWTs; None (an unknown or revoked key) is a 401 like a bad token.
    One prefix has one scheme: a second claim of it stops start-up naming both plugins."""
    authenticate = config.maybe_dotted(authenticate)
    if not prefix or not isinstance(prefix, str) or prefix.startswith("eyJ"):
        raise ConfigurationError(f"credential scheme prefix must be a non-empty string that no JWT starts "
                                 f"with, got {prefix!r}")

    def register():
        config.registry.setdefault(CREDENTIAL_SCHEMES, {})[prefix] = authenticate

    config.action(("shopcore.credential_scheme", prefix), register)


def includeme(config) -> None:
    settings = config.get_settings()
    config.registry["shopcore.token_codec"] = make_token_codec(settings)
    config.registry["shopcore.acl"] = [
        (Allow, Authenticated, AUTHENTICATED_PERMISSION),
        (Allow, ADMIN, ALL_PERMISSIONS),
    ]
    config.set_root_factory(RootFactory)
    config.set_security_policy(ShopSecurityPolicy())
    config.add_directive("grant_permission", grant_permission)
    config.add_directive("set_identity_verifier", set_identity_verifier)
    config.add_directive("add_credential_scheme", add_credential_scheme)
