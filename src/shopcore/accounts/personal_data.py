"""A customer's personal data: everything the shop holds about them (export), and erasing the account.

The core owns the decision and declares two extension points that every plugin keeping data about a
person takes part in (docs/plugins.md, "Personal data"):

- `accounts.personal_data_export`: `(request, user_id) -> dict` of sections (`{"orders": [...]}`),
  merged into the export under the plugin's own section names;
- `accounts.personal_data_erasure`: `(request, user_id) -> None`, removing or anonymising what the
  plugin keeps about the person, in the erasure's transaction.

Both block on failure: an export missing a plugin's part, or an erasure that left a plugin's data,
would be wrong, so a failing part is a 503 and the erasure rolls back whole.

Erasing keeps the user's row, anonymised (`erased:<id>`, an address nobody can register, no names,
no usable password, inactive, every token refused), because orders must be kept for the accounts and
refer to it; plugins anonymise the personal details of what they keep in the same way. Mails not yet
sent to the person are cancelled and the payloads of sent ones emptied.
"""
from __future__ import annotations

import secrets

from sqlalchemy import delete, or_, select

from shopcore.accounts.addresses import addresses_of
from shopcore.accounts.known_addresses import forget_addresses
from shopcore.accounts.models import Address, EmailChange, KnownLoginAddress, PasswordReset, User
from shopcore.audit.models import AuditEntry
from shopcore.clock import utcnow
from shopcore.extensions import run_extension_point
from shopcore.idempotency import IdempotencyKey
from shopcore.messaging.models import OutboxMessage
from shopcore.messaging.outbox import forget_jobs_mentioning, payload_mentions

EXPORT_POINT = "accounts.personal_data_export"
ERASURE_POINT = "accounts.personal_data_erasure"
ERASE_ACTION = "accounts.user.erase"
# Sections of the export that are the core's own; a plugin's section of the same name is refused.
CORE_SECTIONS = ("account", "email_changes", "password_resets", "login_addresses", "mails", "audit_entries")


class SectionClash(RuntimeError):
    """Two parts of an export used the same section name (a programming error in a plugin)."""


def declare_points(config) -> None:
    config.add_extension_point(
        EXPORT_POINT, budget_seconds=10.0, failure="block",
        doc="Exporting personal data\n(request, user_id: int) -> dict of sections named after the plugin's data "
            "({'orders': [...]}), JSON-ready; everything the plugin keeps about the person.")
    config.add_extension_point(
        ERASURE_POINT, budget_seconds=10.0, failure="block",
        doc="Erasing personal data\n(request, user_id: int) -> None; delete or anonymise what the plugin keeps "
            "about the person, in the erasure's transaction (records the shop must keep stay, without the "
            "person's details).")


def export_personal_data(request, user_id: int) -> dict:
    """`{"exported_at", "sections": {...}}`: the core's sections, then every plugin's."""
    session = request.dbsession
    user = session.get(User, user_id)
    sections: dict = {
        "account": {"id": user.id, "username": user.username, "email": user.email, "first_name": user.first_name,
                    "last_name": user.last_name, "is_admin": user.is_admin, "created_at": user.created_at},
        "addresses": addresses_of(request, user_id),
        "email_changes": [
            {"old_email": change.old_email, "new_email": change.new_email, "requested_at": change.created_at,
             "confirmed_at": change.confirmed_at, "undone_at": change.undone_at}
            for change in session.scalars(select(EmailChange).where(EmailChange.user_id == user_id)
                                          .order_by(EmailChange.id))],
        "password_resets": [
            {"requested_at": reset.created_at, "expires_at": reset.expires_at, "used_at": reset.used_at}
            for reset in session.scalars(select(PasswordReset).where(PasswordReset.user_id == user_id)
                                         .order_by(PasswordReset.id))],
        # Kept only as keyed hashes: when they were used is what there is to tell.
        "login_addresses": [
            {"first_login_at": known.first_login_at, "last_login_at": known.last_login_at}
            for known in session.scalars(select(KnownLoginAddress).where(KnownLoginAddress.user_id == user_id)
                                         .order_by(KnownLoginAddress.first_login_at))],
        # Which mails went (or will go) to them; not their content, which may hold one-use links.
        "mails": [{"kind": kind, "status": status, "created_at": created_at}
                  for kind, status, created_at in session.execute(
                      select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.created_at)
                      .where(_mentions(session, user)).order_by(OutboxMessage.created_at))],
        "audit_entries": [
            {"action": entry.action, "object_type": entry.object_type, "object_id": entry.object_id,
             "occurred_at": entry.occurred_at, "as": "actor" if entry.actor_id == user_id else "object"}
            for entry in session.scalars(select(AuditEntry).where(or_(
                AuditEntry.actor_id == user_id,
                (AuditEntry.object_type == "accounts.user") & (AuditEntry.object_id == str(user_id))))
                .order_by(AuditEntry.occurred_at, AuditEntry.id))],
    }
    for part in run_extension_point(request, EXPORT_POINT, user_id):
        clash = set(part) & set(sections)
        if clash:
            raise SectionClash(f"personal data section(s) {', '.join(sorted(clash))} given twice")
        sections.update(part)
    return {"exported_at": utcnow(), "sections": sections}


def _addresses(session, user: User) -> set[str]:
    """Every address the person's mails went or go to: the current one and those of e-mail changes."""
    addresses = {user.email}
    for old, new in session.execute(select(EmailChange.old_email, EmailChange.new_email)
                                    .where(EmailChange.user_id == user.id)):
        addresses.update((old, new))
    return addresses


def _mentions(session, user: User):
    return payload_mentions(_addresses(session, user) | {user.username})


def erase_account(request, user: User) -> list[str]:
    """Erase the person behind `user` (their password already checked); the kinds of the mails cancelled."""
    session = request.dbsession
    run_extension_point(request, ERASURE_POINT, user.id)
    cancelled = forget_jobs_mentioning(session, _addresses(session, user) | {user.username})
    session.execute(delete(EmailChange).where(EmailChange.user_id == user.id))
    session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id))
    # The address book (the orders keep their own copies, which the orders plugin anonymises).
    session.execute(delete(Address).where(Address.user_id == user.id))
    # Stored answers of checkouts and payments repeat addresses and names: the keys go with the person.
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user.id))
    forget_addresses(request, user.id)
    erased = f"erased:{user.id}"
    user.username = user.username_key = user.username_skeleton = erased
    # `.invalid` is reserved (RFC 6761) and refused by registration: no one can take this address.
    user.email = f"erased-{user.id}@erased.invalid"
    user.first_name = user.last_name = ""
    # Not a hash of anything: no password verifies against it.
    user.password_hash = f"!erased:{secrets.token_hex(16)}"
    user.is_active = False
    user.is_admin = False
    user.tokens_valid_after = utcnow()  # every token issued before is refused
    session.flush()
    request.audit(ERASE_ACTION, "accounts.user", user.id, before=None, after={"erased": True})
    return cancelled
