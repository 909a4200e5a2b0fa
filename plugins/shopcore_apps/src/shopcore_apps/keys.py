"""App keys: made (`shk_` + 256 random bits), stored as SHA-256, and turned back into an identity.

`authenticate_app_key` is the apps plugin's credential scheme (`config.add_credential_scheme("shk_", ...)`):
each request with a key reads the app by its key's hash, so a key revoked, rotated or deleted stops
working on every process at the next request, with no cache to wait for. `last_used_at` is written
at most every `key_touch_interval` seconds, once the request's transaction is over, in a transaction
of its own that skips a row another request is writing (a busy app's requests never queue behind one
another for it).
"""
from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select, update

from shopcore.clock import utcnow
from shopcore.security import Identity

from shopcore_apps.models import App
from shopcore_apps.settings import SETTINGS_KEY

KEY_PREFIX = "shk_"
SHOWN_PREFIX_LENGTH = 12  # "shk_" and 8 characters: enough to tell keys apart in a list


@dataclass(frozen=True)
class AppIdentity(Identity):
    """An app calling with its key: an admin for each operation whose scope it holds, nothing more."""

    app_id: int = 0


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def authenticate_app_key(request, key: str) -> AppIdentity | None:
    row = request.dbsession.execute(
        select(App.id, App.name, App.scopes, App.created_by, App.last_used_at)
        .where(App.key_hash == key_digest(key), App.is_active.is_(True))).first()
    if row is None:
        return None
    # Once the request's own transaction is over: a call refused or failing counts as a use too.
    request.add_finished_callback(lambda finished: touch_last_used(finished.registry, row.id, row.last_used_at))
    return AppIdentity(user_id=row.created_by, username=f"app:{row.name}", is_admin=True,
                       token_id=f"app:{row.id}", token_expires_at=0, scopes=frozenset(row.scopes), app_id=row.id)


def touch_last_used(registry, app_id: int, last_used_at: datetime.datetime | None) -> None:
    interval = registry[SETTINGS_KEY].key_touch_interval
    now = utcnow()
    if last_used_at is not None and now - last_used_at < datetime.timedelta(seconds=interval):
        return
    cutoff = now - datetime.timedelta(seconds=interval)
    stale = (select(App.id).where(App.id == app_id, or_(App.last_used_at.is_(None), App.last_used_at < cutoff))
             .with_for_update(skip_locked=True))
    with registry["shopcore.dbsession_factory"]() as session, session.begin():
        session.execute(update(App).where(App.id.in_(stale.scalar_subquery())).values(last_used_at=now)
                        .execution_options(synchronize_session=False))
