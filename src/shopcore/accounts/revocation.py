"""Revoked tokens, kept where every web process sees them: Redis when configured, else the database.

Keys name a token (`jti:<id>`) or a whole login session (`sid:<id>`, every access and refresh token
that one login and its refreshes produced). Each is kept until the tokens it covers would have
expired anyway. A refresh token is spent by `claim`, which succeeds for one caller only.

A revocation stands even when the request that made it fails afterwards (a refresh token used twice
revokes its session and answers 401), as a Redis write would.
"""
from __future__ import annotations

import datetime
import logging
import time

import transaction
from sqlalchemy import delete, select

from shopcore.accounts.models import RevokedToken, utcnow
from shopcore.db import session_for_transaction
from shopcore.errors import ServiceUnavailable
from shopcore.settings import SettingsError

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5


def _moment(epoch_seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch_seconds, datetime.timezone.utc)


class RedisRevocationStore:
    prefix = "shopcore:revoked:"

    def __init__(self, url: str):
        import redis

        self.errors = (redis.RedisError,)
        self.client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                           socket_timeout=REDIS_TIMEOUT_SECONDS)

    def is_revoked(self, request, keys: list[str]) -> bool:
        try:
            return self.client.exists(*(self.prefix + key for key in keys)) > 0
        except self.errors as exc:
            # Availability over strictness: a revoked access token lives 15 minutes at most, refresh
            # tokens cannot be spent while Redis is away (claim fails), and password changes are
            # enforced by the database.
            log.error("revocation list unreadable, accepting the token: %s: %s", type(exc).__name__, exc)
            return False

    def revoke(self, request, entries: dict[str, int]) -> None:
        """Revoke each key until its epoch-seconds expiry."""
        now = time.time()
        try:
            pipeline = self.client.pipeline(transaction=False)
            for key, expires_at in entries.items():
                if expires_at > now:
                    pipeline.set(self.prefix + key, b"1", ex=max(1, int(expires_at - now) + 1))
            pipeline.execute()
        except self.errors as exc:
            log.error("could not revoke tokens: %s: %s", type(exc).__name__, exc)
            raise ServiceUnavailable("Tokens cannot be revoked right now; try again shortly.",
                                     headers={"Retry-After": "5"}) from None

    def claim(self, request, key: str, expires_at: int) -> bool:
        """True for the first caller only: marks a one-use token as used."""
        ttl = max(1, int(expires_at - time.time()) + 1)
        try:
            return bool(self.client.set(self.prefix + key, b"1", nx=True, ex=ttl))
        except self.errors as exc:
            log.error("could not spend a refresh token: %s: %s", type(exc).__name__, exc)
            raise ServiceUnavailable("Tokens cannot be refreshed right now; log in again or retry shortly.",
                                     headers={"Retry-After": "5"}) from None


class DatabaseRevocationStore:
    def is_revoked(self, request, keys: list[str]) -> bool:
        query = select(RevokedToken.key).where(RevokedToken.key.in_(keys), RevokedToken.expires_at > utcnow())
        return request.dbsession.scalar(query.limit(1)) is not None

    def revoke(self, request, entries: dict[str, int]) -> None:
        _upsert(request.dbsession, entries)
        request.tm.get().addAfterAbortHook(self._revoke_in_own_transaction, args=(request.registry, entries))

    def claim(self, request, key: str, expires_at: int) -> bool:
        session = request.dbsession
        insert = _insert_for(session)
        statement = insert(RevokedToken).values(key=key, expires_at=_moment(expires_at))
        # A concurrent claim of the same key waits for ours and then inserts nothing.
        return session.execute(statement.on_conflict_do_nothing(index_elements=["key"])).rowcount == 1

    @staticmethod
    def _revoke_in_own_transaction(registry, entries: dict[str, int]) -> None:
        manager = transaction.TransactionManager(explicit=True)
        try:
            with manager:
                _upsert(session_for_transaction(registry["shopcore.dbsession_factory"], manager), entries)
        except Exception:
            log.exception("could not keep a revocation after its request failed")


def _insert_for(session):
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite alike)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _upsert(session, entries: dict[str, int]) -> None:
    now = utcnow()
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    insert = _insert_for(session)
    for key, expires_at in entries.items():
        moment = _moment(expires_at)
        if moment <= now:
            continue
        statement = insert(RevokedToken).values(key=key, expires_at=moment)
        session.execute(statement.on_conflict_do_update(
            index_elements=["key"], set_={"expires_at": statement.excluded.expires_at},
            where=RevokedToken.expires_at < statement.excluded.expires_at))


def make_revocation_store(settings):
    choice = settings["shopcore.accounts.revocation_store"]
    redis_url = settings["shopcore.redis_url"]
    if choice == "redis" or (choice == "auto" and redis_url):
        if not redis_url:
            raise SettingsError("setting shopcore.accounts.revocation_store: redis needs shopcore.redis_url")
        return RedisRevocationStore(redis_url)
    return DatabaseRevocationStore()
