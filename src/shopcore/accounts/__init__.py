"""Accounts: users, authentication endpoints and the check that a decoded token still stands."""
from __future__ import annotations

import datetime

from shopcore.security import Identity


def verify_access_claims(request, claims: dict) -> Identity | None:
    """An identity for valid access-token claims, or None when the token no longer stands."""
    from shopcore.accounts.models import User

    try:
        user_id = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        return None
    user = request.dbsession.get(User, user_id)
    if user is None or not user.is_active:
        return None
    issued_at = datetime.datetime.fromtimestamp(int(claims.get("iat", 0)), datetime.timezone.utc)
    valid_after = user.tokens_valid_after
    if valid_after.tzinfo is None:  # SQLite returns naive datetimes
        valid_after = valid_after.replace(tzinfo=datetime.timezone.utc)
    if issued_at < valid_after.replace(microsecond=0):
        return None
    return Identity(user_id=user.id, username=user.username, is_admin=user.is_admin,
                    token_id=str(claims.get("jti", "")), token_expires_at=int(claims.get("exp", 0)))


def includeme(config) -> None:
    config.set_identity_verifier(verify_access_claims)
