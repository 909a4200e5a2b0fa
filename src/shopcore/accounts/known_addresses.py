"""Addresses each account has logged in from, so that strangers' failed logins cannot keep the owner out.

A login with the right password records the client address (what the per-address limits count: an
IPv4 address, an IPv6 /64) against the account. Failures from addresses the account does not know
fill a count per account that pauses only such addresses; from a known address only the count of
that address and account applies. Kept server-side, not in a device cookie: the API's clients are
not browsers and send no cookies, and every client (a phone app, a script) gains from it unchanged.

Only an HMAC of the address under the shop's secret is stored: an IPv4 address's plain hash could be
reversed by trying all of them.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac

from sqlalchemy import delete, select

from shopcore.accounts.models import KnownLoginAddress
from shopcore.clock import utcnow
from shopcore.db import upsert


def address_hash(settings, address_key: str) -> str:
    secret = settings["shopcore.secret"].encode("utf-8")
    return hmac.new(secret, b"known-login-address:" + address_key.encode("utf-8", "surrogatepass"),
                    hashlib.sha256).hexdigest()


def is_known_address(request, user_id: int, address_key: str) -> bool:
    """Whether the account logged in from this address within `known_address_ttl`."""
    settings = request.registry.settings
    since = utcnow() - datetime.timedelta(seconds=settings["shopcore.accounts.known_address_ttl"])
    return request.dbsession.scalar(select(KnownLoginAddress.user_id).where(
        KnownLoginAddress.user_id == user_id, KnownLoginAddress.address_hash == address_hash(settings, address_key),
        KnownLoginAddress.last_login_at > since)) is not None


def remember_address(request, user_id: int, address_key: str) -> None:
    """Record a login of the account from this address, and forget its addresses unused for too long."""
    settings = request.registry.settings
    now = utcnow()
    session = request.dbsession
    session.execute(delete(KnownLoginAddress).where(
        KnownLoginAddress.user_id == user_id,
        KnownLoginAddress.last_login_at <= now - datetime.timedelta(
            seconds=settings["shopcore.accounts.known_address_ttl"])))
    upsert(session, KnownLoginAddress,
           {"user_id": user_id, "address_hash": address_hash(settings, address_key), "first_login_at": now,
            "last_login_at": now},
           conflict=[KnownLoginAddress.user_id, KnownLoginAddress.address_hash], update=["last_login_at"])


def forget_addresses(request, user_id: int) -> None:
    """Every address of the account (erasure)."""
    request.dbsession.execute(delete(KnownLoginAddress).where(KnownLoginAddress.user_id == user_id))
