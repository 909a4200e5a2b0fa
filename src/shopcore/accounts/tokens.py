"""Access and refresh tokens: pyramid_jwt makes and reads them; this module decides whether one still stands.

Each token carries, besides `sub`, `iat` and `exp`:
- `type`: `access` or `refresh`; one is never accepted in place of the other;
- `jti`: its own id, so it can be revoked or (a refresh token) spent once;
- `sid`: the login session it belongs to; logout revokes the session, so every access and refresh
  token that one login and its refreshes produced stops working at once;
- `cv`: the user's credentials stamp when it was issued; a password change or reset moves the stamp,
  which refuses every earlier token (to the microsecond, unlike the whole seconds of `iat`);
- `auth_time`: when the login session began (epoch seconds), carried over by every refresh, so a
  session ends `shopcore.accounts.session_lifetime` after its login however often it is refreshed;
- access and refresh tokens alike: `name` (the username), `adm` (an admin when issued) and `ust`
  (the user's stamp when issued): while the stamp is the user's, the claims are the identity
  without a query (`shopcore.accounts.identity`).
"""
from __future__ import annotations

import datetime
import time
import uuid

from shopcore.accounts.models import User
from shopcore.clock import as_utc

ACCESS = "access"
REFRESH = "refresh"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MAX_ID_LENGTH = 64


def credentials_stamp(user: User | datetime.datetime) -> str:
    """A user's (or their `tokens_valid_after` moment's) credentials stamp, to the microsecond."""
    moment = user if isinstance(user, datetime.datetime) else user.tokens_valid_after
    return str((as_utc(moment) - _EPOCH) // datetime.timedelta(microseconds=1))


def new_session_id() -> str:
    return uuid.uuid4().hex


def session_started_at(claims: dict) -> int:
    """When the login session of these (verified) claims began; `iat` for tokens made before `auth_time`."""
    started = claims.get("auth_time")
    if isinstance(started, int) and not isinstance(started, bool):
        return started
    issued = claims.get("iat")
    return issued if isinstance(issued, int) and not isinstance(issued, bool) else int(time.time())


def issue_token_pair(request, user: User | int, session_id: str | None = None,
                     started_at: int | None = None) -> dict[str, str]:
    """A fresh access and refresh token for `user`, in `session_id` (a new login session when None)
    which began at `started_at` (now when None)."""
    from shopcore.accounts.identity import user_claims

    user_id = user.id if isinstance(user, User) else user
    # A User given is the row its password or refresh token was checked against: its credentials stamp.
    described = user_claims(request, user_id, credentials_stamp(user) if isinstance(user, User) else None)
    if described is None:
        raise LookupError(f"no user {user_id}")
    settings = request.registry.settings
    codec = request.registry["shopcore.token_codec"]
    subject = str(user_id)  # PyJWT requires a string `sub`
    now = int(time.time())
    started_at = now if started_at is None else started_at
    common = {"sid": session_id or new_session_id(), "auth_time": started_at, **described}
    access = codec.create_token(subject, expiration=settings["shopcore.jwt.access_ttl"],
                                type=ACCESS, jti=uuid.uuid4().hex, **common)
    # No refresh token outlives its session's end.
    session_left = started_at + settings["shopcore.accounts.session_lifetime"] - now
    refresh = codec.create_token(subject, expiration=max(1, min(settings["shopcore.jwt.refresh_ttl"], session_left)),
                                 type=REFRESH, jti=uuid.uuid4().hex, **common)
    return {"access": access, "refresh": refresh}


def decode_token(request, token: str, token_type: str) -> dict | None:
    """The claims of a well-formed, correctly signed, unexpired token of `token_type`, else None."""
    if not isinstance(token, str) or not token or len(token) > 4096 or not token.isascii():
        return None
    return checked_claims(request.registry["shopcore.token_codec"].jwt_decode(request, token), token_type)


def checked_claims(claims: dict, token_type: str) -> dict | None:
    """Verified claims of the shape this module issues (plus `user_id`), else None."""
    if not claims or claims.get("type") != token_type:
        return None
    for name in ("jti", "sid", "cv", "sub"):
        value = claims.get(name)
        if not isinstance(value, str) or not value or len(value) > _MAX_ID_LENGTH:
            return None
    subject = claims["sub"]
    if not isinstance(claims.get("exp"), int) or not (subject.isascii() and subject.isdigit()) or len(subject) > 9:
        return None
    return {**claims, "user_id": int(subject)}


def revocation_keys(claims: dict, kinds: tuple[str, ...] = ("jti", "sid")) -> list[str]:
    return [f"{kind}:{claims[kind]}" for kind in kinds]


def token_owner(request, claims: dict, check: tuple[str, ...] = ("jti", "sid")) -> User | None:
    """The active user a decoded token speaks for, if the token is neither revoked nor outdated."""
    user = request.dbsession.get(User, claims["user_id"])
    if user is None or not user.is_active or claims["cv"] != credentials_stamp(user):
        return None
    if request.registry["shopcore.accounts.revocation_store"].is_revoked(request, revocation_keys(claims, check)):
        return None
    return user
