"""The identity of an access token, without a query per request while its user is unchanged.

What the security policy needs travels in the token's claims: the user id (`sub`), the username
(`name`), whether the user is an admin (`adm`), the token's and the session's ids. What the claims
cannot know is whether they still hold, so the token also carries the user's *stamp* when it was
issued (`ust`: the revocation store's epoch and the user's generation, `revocation.py`). Every
committed change of what a token says about its user (the admin flag, deactivation, the credentials
stamp a password change or reset moves, deleting the user) moves the user's generation right after
the commit, before the change's own response is sent. One Redis round trip then answers both
questions of each request: is the token or its session revoked, and is its stamp still the user's.

- revoked: 401;
- stamp current: the claims are the identity, no query;
- otherwise (a token issued before a change, or before this scheme, or while Redis was away): one
  query of the user's row, as before, and with it the revocation record when Redis cannot answer.

**The bound.** While Redis answers, a logout, a password change or reset, a deactivation or a
removed admin role holds on every process from the moment the change's request commits (a logout
even before: its revocation is written to Redis during the request); there is no local cache to age
out. While Redis fails, every check reads the database (`revocation.py`). A process whose write to
Redis failed (a logout, or a user's generation) deletes Redis's marker when Redis answers it again
(at its first use of Redis after its 5 s pause): from then on every process reads the database until
the record is copied back under a new epoch, which outdates every stamp issued before.

Changes are noticed by the ORM (`track_user_changes`): change users through a session of the app
(`request.dbsession`: the services, `shopcore-admin`, a script under `bootstrap`), not by SQL typed
into the database, which no process would notice before the tokens expire (`shopcore.jwt.access_ttl`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from shopcore.accounts.models import User
from shopcore.accounts.revocation import CURRENT, REVOKED, ASK_RECORD, DatabaseRevocationStore
from shopcore.db import REGISTRY
from shopcore.security import Identity

log = logging.getLogger(__name__)

STORE = "shopcore.accounts.revocation_store"
# What a token says about its user; a committed change of any of these moves the user's generation.
TRACKED_FIELDS = ("username", "is_admin", "is_active", "tokens_valid_after")
# session.info key: ids of users whose tracked fields this session flushed since its last commit.
_CHANGED_USERS = "shopcore.accounts.changed_users"


@dataclass(frozen=True)
class UserState:
    """A user as the token check reads it from the database."""

    username: str
    is_admin: bool
    is_active: bool
    tokens_valid_after: object
    revoked: bool = False  # one of the token's revocation keys is in the record (when asked)


def user_claims(request, user_id: int, credentials: str | None = None) -> dict | None:
    """The claims describing `user_id` in a new token (name, adm, cv, and ust when Redis can give one),
    or None when there is no such user.

    The stamp is read before the user's row, so a change committed after that read moves the
    generation past the stamp: the new token is then checked against the database, never trusted stale.
    `credentials` is the credentials stamp of the row a login checked the password against: if the
    password changed since, the token keeps that stamp (and no `ust`), so the next request refuses it.
    """
    from shopcore.accounts.tokens import credentials_stamp

    stamp = request.registry[STORE].user_stamp(request, user_id)
    row = request.dbsession.execute(
        select(User.username, User.is_admin, User.is_active, User.tokens_valid_after).where(User.id == user_id)
    ).first()
    if row is None:
        return None
    current = credentials_stamp(row.tokens_valid_after)
    claims = {"name": row.username, "adm": bool(row.is_admin), "cv": credentials or current}
    # An inactive user's token, or one whose credentials changed meanwhile, never stands on its claims.
    if stamp is not None and row.is_active and claims["cv"] == current:
        claims["ust"] = stamp
    return claims


def access_identity(request, claims: dict) -> Identity | None:
    """The identity of verified access-token claims (`tokens.checked_claims`), or None if it no longer stands."""
    from shopcore.accounts.tokens import credentials_stamp, revocation_keys

    keys = revocation_keys(claims)
    user_id = claims["user_id"]
    standing = request.registry[STORE].standing(request, keys, user_id, _stamp_of(claims))
    if standing == REVOKED:
        return None
    if standing == CURRENT:
        return _identity(claims, claims["name"], claims["adm"])
    # NOT_REVOKED: the row says what the token cannot; ASK_RECORD: the row and the record, one query.
    state = read_user_state(request, user_id, keys if standing == ASK_RECORD else None)
    if (state is None or state.revoked or not state.is_active
            or claims["cv"] != credentials_stamp(state.tokens_valid_after)):
        return None
    return _identity(claims, state.username, state.is_admin)


def read_user_state(request, user_id: int, revocation_keys: list[str] | None = None) -> UserState | None:
    """The user's row, and whether one of `revocation_keys` is in the record, in one query."""
    columns = [User.username, User.is_admin, User.is_active, User.tokens_valid_after]
    if revocation_keys is not None:
        columns.append(DatabaseRevocationStore.revoked_clause(revocation_keys).label("revoked"))
    row = request.dbsession.execute(select(*columns).where(User.id == user_id)).first()
    if row is None:
        return None
    return UserState(row.username, bool(row.is_admin), bool(row.is_active), row.tokens_valid_after,
                     bool(revocation_keys is not None and row.revoked))


def _stamp_of(claims: dict) -> str | None:
    """The token's stamp, if it carries the claims a stamp vouches for (tokens made before them do not)."""
    stamp = claims.get("ust")
    if isinstance(stamp, str) and isinstance(claims.get("name"), str) and isinstance(claims.get("adm"), bool):
        return stamp
    return None


def _identity(claims: dict, username: str, is_admin: bool) -> Identity:
    return Identity(user_id=claims["user_id"], username=username, is_admin=is_admin, token_id=claims["jti"],
                    token_expires_at=claims["exp"], session_id=claims["sid"])


# --- noticing changes ------------------------------------------------------------------------------

def track_user_changes() -> None:
    """Listen to every ORM session of the process (once): users whose tracked fields a transaction
    changed, or who were deleted, have their generation moved after it commits."""
    for name, listener in (("after_flush", _collect), ("after_commit", _publish),
                           ("after_rollback", _forget)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def _collect(session: Session, _flush_context) -> None:
    # In after_flush the session still lists what it flushed, with each attribute's history.
    changed = {user.id for user in session.deleted if isinstance(user, User)}
    for user in session.dirty:
        if isinstance(user, User):
            attributes = inspect(user).attrs
            if any(attributes[name].history.has_changes() for name in TRACKED_FIELDS):
                changed.add(user.id)
    if changed:
        session.info.setdefault(_CHANGED_USERS, set()).update(changed)


def _publish(session: Session) -> None:
    changed = session.info.pop(_CHANGED_USERS, None)
    if not changed:
        return
    registry = session.info.get(REGISTRY)
    store = registry.get(STORE) if registry is not None else None
    if store is None:
        log.warning("users %s changed in a session of no app; their tokens are not told", sorted(changed))
        return
    try:
        store.users_changed(changed)
    except Exception:  # after the commit, nothing may fail the request; the store logs Redis errors itself
        log.exception("could not note a change of users %s", sorted(changed))


def _forget(session: Session) -> None:
    session.info.pop(_CHANGED_USERS, None)
