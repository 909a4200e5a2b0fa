"""Revoked tokens, kept where every web process sees them: the database, and Redis in front when configured.

Keys name a token (`jti:<id>`) or a whole login session (`sid:<id>`, every access and refresh token
that one login and its refreshes produced). Each is kept until the tokens it covers would have
expired anyway. A refresh token is spent by `claim`, which succeeds for one caller only.

A revocation stands even when the request that made it fails afterwards (a refresh token used twice
revokes its session and answers 401), as a Redis write would.

With Redis, the store also keeps a generation per user, moved after every committed change of what
an access token says about its user (admin, active, credentials stamp: `users_changed`). A token
carries the stamp (`user_stamp`) it was issued under; `standing` tells in the same round trip as
the revocation check whether that stamp is still the user's, so the token's claims can stand for
the user without a query (`shopcore.accounts.identity`).
"""
from __future__ import annotations

import datetime
import logging
import time
import uuid

import transaction
from sqlalchemy import delete, exists, select

from shopcore.accounts.models import RevokedToken
from shopcore.clock import as_utc, utcnow
from shopcore.db import session_for_transaction, upsert
from shopcore.errors import ServiceUnavailable
from shopcore.settings import SettingsError

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5

# What `standing` knows of an access token.
REVOKED = "revoked"
CURRENT = "current"  # not revoked, and the user has not changed since the token's stamp
NOT_REVOKED = "not revoked"  # not revoked; what the token says of its user must be read from the database
ASK_RECORD = "ask the record"  # Redis cannot say: the database decides both


def _moment(epoch_seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch_seconds, datetime.timezone.utc)


class RedisRevocationStore:
    """Redis answers every check in one round trip; the database keeps the record.

    Each revocation is written to the database (with the request's transaction, and kept if the request
    fails) and to Redis. While Redis is away, checks read the database instead, so a token revoked
    before or during an outage is refused by every process, and logging out keeps working.

    Redis is trusted only while its marker key says it holds every revocation of the record. A Redis
    that lost its data (a restart) has no marker; a process that saw Redis fail deletes the marker
    once Redis answers again, since writes may have missed it meanwhile. Without the marker, checks read
    the database until one process has copied the record back into Redis and set the marker again.

    Revocations and spent refresh tokens are members of two sorted sets scored by their expiry, not
    keys with a TTL: under a `volatile-*` eviction policy (cache entries all carry a TTL) Redis can
    then evict cache entries but never a revocation. Expired members are trimmed on each write.

    The users' generations are fields of one hash, without a TTL for the same reason. They count
    from zero again when Redis loses its data, so a stamp names the marker too: the marker's value
    is new each time the record is copied back, which outdates every stamp given before (their
    tokens are then checked against the database until they expire or are refreshed).
    """

    revoked = "shopcore:revoked"
    spent = "shopcore:spent"
    marker = "shopcore:revoked:complete"
    user_generations = "shopcore:user-generations"
    reload_lock = "shopcore:revoked:reloading"
    # After a failure Redis is left alone this long, so a hung Redis costs one timeout per process per
    # pause rather than one per request.
    pause_seconds = 5.0

    def __init__(self, url: str):
        import redis

        self.errors = (redis.RedisError,)
        self.client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                           socket_timeout=REDIS_TIMEOUT_SECONDS)
        self.record = DatabaseRevocationStore()
        self._resting_until = 0.0
        self._missed_writes = False

    def _available(self) -> bool:
        if time.monotonic() < self._resting_until:
            return False
        if self._missed_writes:
            try:
                self.client.delete(self.marker)
            except self.errors as exc:
                self._fail("delete its marker", exc)
                return False
            self._missed_writes = False
        return True

    def _fail(self, operation: str, exc: Exception, *, wrote: bool = True) -> None:
        """Rest after a failure; `wrote`: the failed call was a write, which Redis may have missed.

        A failed read loses nothing: it only rests (the writes skipped while resting count as missed,
        see `revoke`), so a blip on a read does not make Redis untrusted and every user's stamp old.
        """
        if not self._missed_writes:
            log.error("revocations: Redis failed to %s (%s: %s); checking the database for %.0f s",
                      operation, type(exc).__name__, exc, self.pause_seconds)
        if wrote:
            self._missed_writes = True
        self._resting_until = time.monotonic() + self.pause_seconds

    def is_revoked(self, request, keys: list[str]) -> bool:
        standing = self.standing(request, keys)
        if standing == ASK_RECORD:
            return self.record.is_revoked(request, keys)
        return standing == REVOKED

    def standing(self, request, keys: list[str], user_id: int | None = None, stamp: str | None = None) -> str:
        """REVOKED, CURRENT (`stamp` is still `user_id`'s), NOT_REVOKED, or ASK_RECORD; one round trip."""
        if self._available():
            try:
                pipeline = self.client.pipeline(transaction=False)
                pipeline.zmscore(self.revoked, keys)
                pipeline.get(self.marker)
                if user_id is not None:
                    pipeline.hget(self.user_generations, str(user_id))
                expiries, epoch, *generation = pipeline.execute()
            except self.errors as exc:
                self._fail("check a token", exc, wrote=False)
            else:
                now = time.time()
                if epoch is not None:
                    if any(expiry is not None and expiry > now for expiry in expiries):
                        return REVOKED
                    if user_id is not None and stamp is not None and stamp == _stamp(epoch, generation[0]):
                        return CURRENT
                    return NOT_REVOKED
                reloaded = self._reload(request)
                if reloaded is not None:
                    return REVOKED if any(reloaded.get(key, 0) > now for key in keys) else NOT_REVOKED
        return ASK_RECORD

    def user_stamp(self, request, user_id: int) -> str | None:
        """The user's stamp now (None when Redis cannot tell): read it before reading the user, so a
        change committed after that read moves the generation past it."""
        for attempt in range(2):
            if not self._available():
                return None
            try:
                pipeline = self.client.pipeline(transaction=False)
                pipeline.get(self.marker)
                pipeline.hget(self.user_generations, str(user_id))
                epoch, generation = pipeline.execute()
            except self.errors as exc:
                self._fail("read a user's stamp", exc, wrote=False)
                return None
            if epoch is not None:
                return _stamp(epoch, generation)
            # Redis does not hold the record (a restart): copy it back, which sets a new epoch.
            if attempt or self._reload(request) is None:
                return None
        return None

    def users_changed(self, user_ids) -> None:
        """After a committed change of these users: every stamp given to them before is outdated."""
        if not self._available():
            self._missed_writes = True  # the marker goes when Redis is back, and with it every stamp
            return
        try:
            pipeline = self.client.pipeline(transaction=False)
            for user_id in sorted(user_ids):
                pipeline.hincrby(self.user_generations, str(user_id), 1)
            pipeline.execute()
        except self.errors as exc:
            self._fail("note a change of users", exc)

    def _reload(self, request) -> dict[str, float] | None:
        """Copy the record's revocations into Redis, then mark it complete (one process at a time).

        The revocations copied (key -> expiry), or None when another process is copying or Redis failed.
        """
        try:
            if not self.client.set(self.reload_lock, b"1", nx=True, ex=30):
                return None  # another process is copying; this check reads the database meanwhile
            try:
                entries = {key: expires_at.timestamp() for key, expires_at in self.record.unexpired(request)}
                pipeline = self.client.pipeline(transaction=False)
                if entries:
                    pipeline.zadd(self.revoked, entries, gt=True)
                # A new epoch: every user stamp given under the previous one is outdated.
                pipeline.set(self.marker, uuid.uuid4().hex)
                pipeline.execute()
                return entries
            finally:
                self.client.delete(self.reload_lock)
        except self.errors as exc:
            self._fail("reload revocations", exc)
            return None

    def revoke(self, request, entries: dict[str, int]) -> None:
        """Revoke each key until its epoch-seconds expiry."""
        self.record.revoke(request, entries)
        if not self._available():
            self._missed_writes = True
            return
        try:
            pipeline = self.client.pipeline(transaction=False)
            pipeline.zadd(self.revoked, entries, gt=True)  # a later expiry wins, as in the record
            pipeline.zremrangebyscore(self.revoked, "-inf", time.time())
            pipeline.execute()
        except self.errors as exc:
            self._fail("revoke tokens", exc)  # the record holds them; checks read it until Redis has them

    def claim(self, request, key: str, expires_at: int) -> bool:
        """True for the first caller only: marks a one-use token as used."""
        try:
            pipeline = self.client.pipeline(transaction=False)
            pipeline.zadd(self.spent, {key: expires_at}, nx=True)
            pipeline.zremrangebyscore(self.spent, "-inf", time.time())
            added, _trimmed = pipeline.execute()
            return added == 1
        except self.errors as exc:
            log.error("could not spend a refresh token: %s: %s", type(exc).__name__, exc)
            raise ServiceUnavailable("Tokens cannot be refreshed right now; log in again or retry shortly.",
                                     headers={"Retry-After": "5"}) from None


class DatabaseRevocationStore:
    """The record; without Redis also the store every check reads (one query with the user's row)."""

    @staticmethod
    def revoked_clause(keys: list[str]):
        """True in SQL when one of `keys` is revoked (a column of the identity's one query)."""
        return exists().where(RevokedToken.key.in_(keys), RevokedToken.expires_at > utcnow())

    def is_revoked(self, request, keys: list[str]) -> bool:
        return bool(request.dbsession.scalar(select(self.revoked_clause(keys))))

    def standing(self, request, keys: list[str], user_id: int | None = None, stamp: str | None = None) -> str:
        return ASK_RECORD

    def user_stamp(self, request, user_id: int) -> str | None:
        return None  # every check reads the database: no stamp to give

    def users_changed(self, user_ids) -> None:
        pass

    def unexpired(self, request) -> list[tuple[str, datetime.datetime]]:
        rows = request.dbsession.execute(select(RevokedToken.key, RevokedToken.expires_at)
                                         .where(RevokedToken.expires_at > utcnow()))
        return [(key, as_utc(expires_at)) for key, expires_at in rows]

    def revoke(self, request, entries: dict[str, int]) -> None:
        _upsert(request.dbsession, entries)
        request.tm.get().addAfterAbortHook(self._revoke_in_own_transaction, args=(request.registry, entries))

    def claim(self, request, key: str, expires_at: int) -> bool:
        # A concurrent claim of the same key waits for ours and then inserts nothing.
        return upsert(request.dbsession, RevokedToken, {"key": key, "expires_at": _moment(expires_at)},
                      conflict=[RevokedToken.key]).rowcount == 1

    @staticmethod
    def _revoke_in_own_transaction(registry, entries: dict[str, int]) -> None:
        manager = transaction.TransactionManager(explicit=True)
        try:
            with manager:
                _upsert(session_for_transaction(registry["shopcore.dbsession_factory"], manager), entries)
        except Exception:
            log.exception("could not keep a revocation after its request failed")


def _upsert(session, entries: dict[str, int]) -> None:
    now = utcnow()
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    for key, expires_at in entries.items():
        moment = _moment(expires_at)
        if moment <= now:
            continue
        # Only ever lengthened: a shorter revocation arriving later does not shorten a longer one.
        upsert(session, RevokedToken, {"key": key, "expires_at": moment}, conflict=[RevokedToken.key],
               update=["expires_at"], where=RevokedToken.expires_at < moment)


def _stamp(epoch: bytes, generation: bytes | None) -> str:
    return f"{epoch.decode('ascii', 'replace')}.{int(generation or 0)}"


def make_revocation_store(settings):
    choice = settings["shopcore.accounts.revocation_store"]
    redis_url = settings["shopcore.redis_url"]
    if choice == "redis" or (choice == "auto" and redis_url):
        if not redis_url:
            raise SettingsError("setting shopcore.accounts.revocation_store: redis needs shopcore.redis_url")
        return RedisRevocationStore(redis_url)
    return DatabaseRevocationStore()
