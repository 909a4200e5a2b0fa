"""Idempotency keys: a retried POST with the same `Idempotency-Key` replays the first response.

A toolkit of the core since contract 2.1 (it was the orders plugin's): checkout and pay use it, and so do
the payments plugin's payment creation and refunds. A view wraps its operation:

    return respond_idempotently(request, user_id, lambda: (201, service.place_order(...)))

and its operation in the spec takes `#/components/parameters/IdempotencyKey` and declares the 409, the
422 and the `Idempotent-Replayed` header (`#/components/headers/IdempotentReplayed`). Keys are per user
and shared by every endpoint (one table, `core_idempotency_keys`), so a key sent to two endpoints is
"a different request" (422), as payment APIs answer.

The semantics payment APIs use, per user, for 24 hours:

- the same key with the same request (method, path and body) after the first one completed gets
  the first status and body again, with `Idempotent-Replayed: true`;
- the same key with a different request is a 422;
- the same key while the first request is still running is a 409.

Only a successful (2xx) response is kept. A request that failed changed nothing (its transaction
rolled back), so its key is released and a retry runs afresh.

Where the database lets transactions run side by side (PostgreSQL), a key is claimed in a short
transaction of its own that commits at once, so a concurrent request with the same key sees the
claim and gets its 409; the response is then stored in the request's own transaction, so it
commits together with the order. SQLite runs one writing transaction at a time: there the claim is
made inside the request's transaction (a second connection would wait on the request's own write
lock), and a concurrent request with the same key waits for the first and then replays it.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import logging
from typing import Any, Callable

from pyramid.renderers import render
from pyramid.response import Response
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text, delete, select, \
    update
from sqlalchemy.orm import Mapped, Session, mapped_column

from shopcore.clock import utcnow
from shopcore.db import AwareDateTime, Base, upsert
from shopcore.errors import Conflict, InvalidInput, Unprocessable

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_LIFETIME = datetime.timedelta(hours=24)
# A claim this old was left by a process that died mid-request; a retry may take it over.
ABANDONED_AFTER = datetime.timedelta(minutes=5)
STARTED, COMPLETED = "started", "completed"


class IdempotencyKey(Base):
    """An `Idempotency-Key` a user sent, the request it came with and, once done, its response."""

    __tablename__ = "core_idempotency_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    # sha256 of method, path and canonical body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        PrimaryKeyConstraint("user_id", "key", name="pk_core_idempotency_keys"),
        CheckConstraint("state IN ('started', 'completed')", name="state_known"),
        Index("ix_core_idempotency_keys_created", "created_at"),
    )


def request_fingerprint(request) -> str:
    """What makes two requests "the same": method, path and the JSON body, key order ignored."""
    try:
        body = json.loads(request.body) if request.body else None
    except ValueError:
        # An endpoint without a JSON body (pay) ignores what was sent; the bytes still tell requests apart.
        body = {"raw": hashlib.sha256(request.body).hexdigest()}
    canonical = json.dumps({"method": request.method, "path": request.path, "body": body},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    # The spec bounds its length; control characters (a NUL would fail in PostgreSQL) are refused here.
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in key):
        raise InvalidInput(HEADER, "Control characters are not allowed.")
    return key


def json_response(request, status: int, body: Any) -> Response:
    return Response(body=render("json", body, request=request).encode(), status=status,
                    content_type="application/json", charset="utf-8")


def insert_ignoring_duplicates(session: Session, values: dict) -> bool:
    """Insert the key's row unless it exists; True iff it went in.

    RETURNING says whether the row went in (rowcount is not reliable through every driver).
    """
    return upsert(session, IdempotencyKey, values, conflict=[IdempotencyKey.user_id, IdempotencyKey.key],
                  returning=[IdempotencyKey.key]).first() is not None


class IdempotencyStore:
    def __init__(self, request):
        self.request = request
        self.dialect_name = request.dbsession.get_bind().dialect.name
        # See the module docstring: SQLite claims inside the request's own transaction.
        self.claims_apart = self.dialect_name != "sqlite"

    def _claim_session(self) -> Session:
        return self.request.registry["shopcore.dbsession_factory"]()

    def claim(self, user_id: int, key: str, fingerprint: str) -> Response | None:
        """Claim `key` for this request, or answer it: a replay, a 409 (running) or a 422 (other request)."""
        if not self.claims_apart:
            return self._claim(self.request.dbsession, user_id, key, fingerprint)
        session = self._claim_session()
        try:
            with session.begin():
                answer = self._claim(session, user_id, key, fingerprint)
        finally:
            session.close()
        if answer is None:
            self._release_if_request_fails(user_id, key, fingerprint)
        return answer

    def _claim(self, session: Session, user_id: int, key: str, fingerprint: str) -> Response | None:
        now = utcnow()
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                     IdempotencyKey.created_at < now - KEY_LIFETIME))
        values = {"user_id": user_id, "key": key, "fingerprint": fingerprint, "state": STARTED, "created_at": now}
        if insert_ignoring_duplicates(session, values):
            return None
        row = session.execute(select(IdempotencyKey.fingerprint, IdempotencyKey.state, IdempotencyKey.created_at,
                                     IdempotencyKey.response_status, IdempotencyKey.response_body)
                              .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)).first()
        if row is None:
            # Released between our insert and our read: the first request failed; run afresh.
            if insert_ignoring_duplicates(session, values):
                return None
            raise self._in_flight()
        if row.fingerprint != fingerprint:
            raise Unprocessable(f"This {HEADER} was already used with a different request; "
                                "use a new key for a new request.",
                                [{"field": HEADER, "message": "Already used with a different request."}])
        if row.state == COMPLETED:
            response = Response(body=row.response_body.encode(), status=row.response_status,
                                content_type="application/json", charset="utf-8")
            response.headers[REPLAYED_HEADER] = "true"
            return response
        if row.created_at <= now - ABANDONED_AFTER:
            taken = session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                       IdempotencyKey.state == STARTED, IdempotencyKey.created_at == row.created_at)
                .values(created_at=now)
            ).rowcount
            if taken == 1:
                return None
        raise self._in_flight()

    @staticmethod
    def _in_flight() -> Conflict:
        return Conflict(f"A request with this {HEADER} is still being processed; retry once it has finished.",
                        [{"field": HEADER, "message": "A request with this key is in progress."}])

    def complete(self, user_id: int, key: str, fingerprint: str, response: Response) -> None:
        """Keep the response, in the request's transaction: it commits with what the request did."""
        self.request.dbsession.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                   IdempotencyKey.fingerprint == fingerprint, IdempotencyKey.state == STARTED)
            .values(state=COMPLETED, response_status=response.status_code, response_body=response.text)
        )

    def _release_if_request_fails(self, user_id: int, key: str, fingerprint: str) -> None:
        def release(*_status) -> None:
            if _status and _status[0]:
                return  # committed: the key now holds the response
            session = self._claim_session()
            try:
                with session.begin():
                    session.execute(delete(IdempotencyKey).where(
                        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                        IdempotencyKey.fingerprint == fingerprint, IdempotencyKey.state == STARTED))
            except Exception:
                # The claim then expires as abandoned; the failed request's own error is what matters.
                log.exception("could not release idempotency key of user %s", user_id)
            finally:
                session.close()

        transaction = self.request.tm.get()
        transaction.addAfterAbortHook(release)
        transaction.addAfterCommitHook(release)


def purge_expired_keys(session: Session, now: datetime.datetime | None = None) -> int:
    """Delete every user's keys older than 24 hours; returns how many went.

    A request purges its own user's expired keys as it claims one; this catches users who never
    come back (`shopcore-admin CONFIG purge-idempotency-keys`, e.g. daily from cron).
    """
    cutoff = (now or utcnow()) - KEY_LIFETIME
    return session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount or 0


def respond_idempotently(request, user_id: int, operation: Callable[[], tuple[int, Any]]) -> Response:
    """Run `operation` (returning status and JSON body) under the request's Idempotency-Key, if any."""
    key = request.headers.get(HEADER)
    if not key:
        status, body = operation()
        return json_response(request, status, body)
    key = check_key(key)
    store = IdempotencyStore(request)
    fingerprint = request_fingerprint(request)
    replay = store.claim(user_id, key, fingerprint)
    if replay is not None:
        return replay
    status, body = operation()
    response = json_response(request, status, body)
    if 200 <= status < 300:
        store.complete(user_id, key, fingerprint, response)
    return response


def purge_idempotency_keys(env, args) -> int:
    """`shopcore-admin CONFIG purge-idempotency-keys`."""
    request = env["request"]
    with request.tm:
        removed = purge_expired_keys(request.dbsession)
    print(f"purge-idempotency-keys: {removed} expired key(s) removed")
    return 0


def includeme(config) -> None:
    config.add_admin_command("purge-idempotency-keys", purge_idempotency_keys,
                             help="Delete Idempotency-Keys older than 24 hours")
