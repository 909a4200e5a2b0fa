"""Account models: users (customers and admins), password reset and e-mail change tokens, revoked tokens."""
from __future__ import annotations

import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from shopcore.clock import as_utc, utcnow  # noqa: F401  (re-exported for older imports)
from shopcore.db import AwareDateTime, Base


class User(Base):
    __tablename__ = "core_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # NFKC-normalised (`usernames.canonical_username`).
    username: Mapped[str] = mapped_column(String(150), unique=True)
    # Case-folded in Python, the same on every database: logins and uniqueness go by it.
    username_key: Mapped[str] = mapped_column(String(600), unique=True)
    # Look-alike usernames share a skeleton; a new one matching an existing user's is refused.
    username_skeleton: Mapped[str] = mapped_column(String(600), index=True)
    # Stored as given; uniqueness is case-insensitive through the lower(email) index.
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)
    # Every token carries this moment as its credentials stamp; moving it (password change or
    # reset) makes every token issued before refused at once.
    tokens_valid_after: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)

    __table_args__ = (
        Index("uq_core_users_email_lower", func.lower(email), unique=True),
        Index("uq_core_users_username_lower", func.lower(username), unique=True),
    )


class PasswordReset(Base):
    """One reset link sent by mail; only the token's hash is kept, and it can be used once."""

    __tablename__ = "core_password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)
    expires_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime)
    used_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)


class EmailChange(Base):
    """A requested change of a user's e-mail address, which takes effect only once confirmed.

    The confirmation link goes to the new address; once it is used, the old address gets an undo link
    (`undo_token_hash`) that restores it. Only hashes of both tokens are kept, and each works once.
    """

    __tablename__ = "core_email_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    old_email: Mapped[str] = mapped_column(String(254))
    new_email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)
    expires_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime)
    # Set when the confirmation link is used (or the request is spent unused: see `spent_at`).
    confirmed_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    spent_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    undo_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    undo_expires_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)
    undone_at: Mapped[datetime.datetime | None] = mapped_column(AwareDateTime, nullable=True)


class RevokedToken(Base):
    """A revoked token id or login session, kept until every token it covers has expired anyway.

    Used when no Redis is configured; with Redis the same keys live there.
    """

    __tablename__ = "core_revoked_tokens"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    expires_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, index=True)


class KnownLoginAddress(Base):
    """A client address an account has logged in from: others' failed logins do not pause it there.

    The address is kept as an HMAC under the shop's secret (of what the per-address limits count: an
    IPv4 address or an IPv6 /64), so the table holds no readable address; `last_login_at` says when
    it was last used, and an address unused for `known_address_ttl` is unknown again.
    """

    __tablename__ = "core_known_login_addresses"

    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_login_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)
    last_login_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)
class Address(Base):
    """One postal address of a customer's address book (checked by `shopcore.accounts.addresses`)."""

    __tablename__ = "core_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    line1: Mapped[str] = mapped_column(String(100))
    line2: Mapped[str] = mapped_column(String(100), default="")
    city: Mapped[str] = mapped_column(String(60))
    region: Mapped[str] = mapped_column(String(50), default="")
    postal_code: Mapped[str] = mapped_column(String(16), default="")
    # ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2))
    # E.164, or empty.
    phone: Mapped[str] = mapped_column(String(32), default="")
    is_default_shipping: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default_billing: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(AwareDateTime, default=utcnow)

    __table_args__ = (
        # At most one default of each kind per customer, whatever races.
        Index("uq_core_addresses_default_shipping", "user_id", unique=True,
              postgresql_where=text("is_default_shipping"), sqlite_where=text("is_default_shipping")),
        Index("uq_core_addresses_default_billing", "user_id", unique=True,
              postgresql_where=text("is_default_billing"), sqlite_where=text("is_default_billing")),
    )
