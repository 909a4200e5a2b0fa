"""Writing audit entries (`request.audit`) and reading them back for `GET /api/audit/`."""
from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from shopcore.accounts.models import User
from shopcore.audit import ACTIONS
from shopcore.audit.models import OBJECT_ID_MAX, OBJECT_TYPE_MAX, ORIGIN_MAX, AuditEntry
from shopcore.clock import as_utc, utcnow
from shopcore.errors import InvalidInput
from shopcore.pagination import fetch_page, page_body, public_url

# Set by whatever acts without an HTTP request (shopcore-admin) to say how the action was done.
ORIGIN_ENVIRON_KEY = "shopcore.audit_origin"


def record(request, action: str, object_type: str, object_id: Any, *, before: Any = None,
           after: Any = None) -> AuditEntry:
    """`request.audit(...)`: add an entry to the request's transaction (see the package docstring).

    `before` and `after` are dicts of the object's fields concerned (or None); Decimals and
    datetimes are kept as their strings. `object_id` is stored as text, so any kind of id fits.
    """
    for name, value in (("before", before), ("after", after)):
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"audit {name} must be a dict of the object's fields or None, got {type(value).__name__}")
    actions = request.registry.get(ACTIONS, {})
    if action not in actions:
        raise LookupError(f"audited action {action!r} is not declared (config.add_audited_action); declared: "
                          f"{', '.join(sorted(actions)) or 'none'}")
    identity = getattr(request, "identity", None)
    origin = request.environ.get(ORIGIN_ENVIRON_KEY) or f"{request.method} {request.path}"
    if identity is not None and identity.scopes is not None:
        # A key of a credential scheme (an app's): the actor is the user it acts for, the key says who acted.
        origin = f"{origin} (key {identity.token_id})"
    entry = AuditEntry(
        occurred_at=utcnow(), actor_id=identity.user_id if identity is not None else None, action=action,
        object_type=str(object_type)[:OBJECT_TYPE_MAX], object_id=str(object_id)[:OBJECT_ID_MAX],
        before=_jsonable(before), after=_jsonable(after), origin=origin[:ORIGIN_MAX],
        request_id=request.environ.get("shopcore.request_id", "")[:64])
    request.dbsession.add(entry)
    return entry


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_plain, sort_keys=True))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} cannot be recorded in the audit log")


def _check_filter_text(field: str, value: str) -> None:
    # What PostgreSQL text cannot hold would be a database error, not "no match".
    if "\x00" in value:
        raise InvalidInput(field, "Null characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "Not valid Unicode text.") from None


def parse_moment(value: str | None, field: str) -> datetime.datetime | None:
    """An ISO 8601 moment from a query parameter (no zone: UTC)."""
    if value is None:
        return None
    try:
        return as_utc(datetime.datetime.fromisoformat(value))
    except ValueError:
        raise InvalidInput(field, "Give a moment in ISO 8601, like 2026-12-08T09:30:00Z.") from None


def entry_body(entry: AuditEntry, actor_username: str | None) -> dict:
    return {"id": entry.id, "occurred_at": entry.occurred_at, "actor_id": entry.actor_id,
            "actor_username": actor_username, "action": entry.action, "object_type": entry.object_type,
            "object_id": entry.object_id, "before": entry.before, "after": entry.after, "origin": entry.origin,
            "request_id": entry.request_id}


def list_entries(request, *, page: int, page_size: int, actor: int | None = None, action: str | None = None,
                 object_type: str | None = None, object_id: str | None = None, since: str | None = None,
                 until: str | None = None) -> dict:
    """A page of entries, newest first, filtered by actor, action, object and time (`since` <= t < `until`)."""
    start, end = parse_moment(since, "since"), parse_moment(until, "until")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("until", "Must be later than since.")
    statement = select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    params: dict[str, Any] = {}
    for name, value, column in (("actor", actor, AuditEntry.actor_id), ("action", action, AuditEntry.action),
                                ("object_type", object_type, AuditEntry.object_type),
                                ("object_id", object_id, AuditEntry.object_id)):
        if isinstance(value, str):
            _check_filter_text(name, value)
        if value is not None:
            statement = statement.where(column == value)
            params[name] = value
    if start is not None:
        statement = statement.where(AuditEntry.occurred_at >= start)
        params["since"] = since
    if end is not None:
        statement = statement.where(AuditEntry.occurred_at < end)
        params["until"] = until
    found = fetch_page(request.dbsession, statement, page, page_size)
    # The actors' names as they are now (an erased customer's is anonymised): one query per page.
    actor_ids = {entry.actor_id for entry in found.rows if entry.actor_id is not None}
    usernames = dict(request.dbsession.execute(select(User.id, User.username).where(User.id.in_(actor_ids))).all()) \
        if actor_ids else {}
    results = [entry_body(entry, usernames.get(entry.actor_id)) for entry in found.rows]
    return page_body(found, results, public_url(request, "audit_entries"), params)
