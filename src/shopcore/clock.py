"""Time for the whole shop: aware UTC datetimes only.

Every stored moment is UTC. Use `utcnow()` for "now" (never `datetime.utcnow()`, which is naive and
deprecated) and `as_utc()` for a moment read from elsewhere; columns of type
`shopcore.db.AwareDateTime` already give aware UTC values on PostgreSQL and SQLite alike.
"""
from __future__ import annotations

import datetime

UTC = datetime.timezone.utc


def utcnow() -> datetime.datetime:
    """Now, as an aware UTC datetime."""
    return datetime.datetime.now(UTC)


def as_utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """`moment` as an aware UTC datetime; a naive one is taken to be UTC already. None stays None.

    SQLite hands back naive datetimes for every column (it stores no time zone), and the shop
    writes only UTC, so a naive value read from the database is UTC.
    """
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
