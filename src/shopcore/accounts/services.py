"""Account rules: registration, login and tokens, profile and e-mail change, password change and reset.

Every function takes the request (for its database session, settings and client address) and can be
called without HTTP; failures are `ShopError`s that name the field at fault.
"""
from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import secrets
import unicodedata

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from shopcore.accounts.events import (EmailChangeAddressTaken, EmailChanged, EmailChangeRequested, EmailChangeUndone,
                                     PasswordChanged, PasswordResetRequested, UserRegistered)
from shopcore.accounts.known_addresses import is_known_address, remember_address
from shopcore.accounts.models import EmailChange, PasswordReset, User
from shopcore.clock import utcnow
from shopcore.accounts.passwords import is_text, password_problems
from shopcore.accounts.personal_data import erase_account, export_personal_data
from shopcore.accounts.ratelimit import client_ip
from shopcore.accounts.tokens import (REFRESH, decode_token, issue_token_pair, revocation_keys, session_started_at,
                                      token_owner)
from shopcore.accounts.usernames import canonical_username, username_key, username_skeleton
from shopcore.errors import ShopError

RESET_REQUESTED_DETAIL = "Password reset e-mail has been sent."
BAD_CREDENTIALS = "No active account found with the given credentials."
BAD_REFRESH_TOKEN = "Token is invalid or expired."
BAD_RESET_LINK = "The reset link is invalid or has expired."
BAD_EMAIL_LINK = "The link is invalid or has expired."
EMAIL_RESTORED_DETAIL = ("Your previous e-mail address is back and every login session has ended. "
                         "Choose a new password with a password reset link.")
PROFILE_FIELDS = ("email", "first_name", "last_name")
# Accepted next to `email`: changing the address needs the current password.
PROFILE_PASSWORD_FIELD = "current_password"
# Audited actions (shopcore.audit) and the object type of their entries.
GRANT_ADMIN = "accounts.user.grant_admin"
REVOKE_ADMIN = "accounts.user.revoke_admin"
USER_OBJECT = "accounts.user"
# The background job that does a reset request's work for a known address (see request_password_reset).
PASSWORD_RESET_JOB = "accounts.password_reset"


class AccountError(ShopError):
    status = 400


class NotAuthenticated(ShopError):
    status = 401

    def __init__(self, detail: str):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="shopcore"'})


def field_error(field: str, message: str) -> AccountError:
    return AccountError(f"{field}: {message}", [{"field": field, "message": message}])


def rate_limits(request):
    return request.registry["shopcore.accounts.rate_limits"]


def password_hashing(request):
    return request.registry["shopcore.accounts.password_hashing"]


# --- validation ----------------------------------------------------------------------------------

def normalize_email(email: str, field: str = "email") -> str:
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise field_error(field, str(exc)) from None


def check_name(field: str, value: str) -> str:
    value = value.strip()
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise field_error(field, "Control characters and lone surrogates are not allowed.")
    return value


def policy_problems(request, password: str, *, username: str, email: str) -> list[str]:
    return password_problems(password, username=username, email=email,
                             min_length=request.registry.settings["shopcore.accounts.password_min_length"])


def check_password(request, field: str, password: str, *, username: str, email: str) -> None:
    problems = policy_problems(request, password, username=username, email=email)
    if problems:
        raise AccountError(f"{field}: {' '.join(problems)}", [{"field": field, "message": m} for m in problems])


def username_taken(session, username: str) -> bool:
    return session.scalar(select(User.id).where(User.username_key == username_key(username))) is not None


def username_lookalike_taken(session, username: str) -> bool:
    """Whether an existing username could be taken for this one (`аdmin` with a Cyrillic а for `admin`)."""
    query = select(User.id).where(User.username_skeleton == username_skeleton(username))
    return session.scalar(query) is not None


def email_taken(session, email: str, except_id: int | None = None) -> bool:
    query = select(User.id).where(func.lower(User.email) == email.lower())
    if except_id is not None:
        query = query.where(User.id != except_id)
    return session.scalar(query) is not None


def _flush_unique(session) -> None:
    """Flush, turning a lost race on username or email into the same 400 the checks give."""
    try:
        session.flush()
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        field = "username" if "username" in text else "email"
        raise field_error(field, f"A user with that {field} already exists.") from None


# --- users ---------------------------------------------------------------------------------------

def create_user(request, *, username: str, email: str, password: str, is_admin: bool = False,
                first_name: str = "", last_name: str = "") -> User:
    """A new user, checked like a registration; the only way an admin comes to exist."""
    session = request.dbsession
    errors: list[dict] = []

    def refuse(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    username = canonical_username(username)
    if not username or len(username) > 150 or not all(c.isalnum() or c in "@.+-_" for c in username):
        refuse("username", "Use 1 to 150 letters, digits and @ . + - _ only.")
    elif username_taken(session, username):
        refuse("username", "A user with that username already exists.")
    elif username_lookalike_taken(session, username):
        refuse("username", "A user with a username that looks the same already exists.")
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        refuse("email", str(exc))
    else:
        if email_taken(session, email):
            refuse("email", "A user with that email already exists.")
    for problem in policy_problems(request, password, username=username, email=email):
        refuse("password", problem)
    try:
        first_name, last_name = check_name("first_name", first_name), check_name("last_name", last_name)
    except AccountError as exc:
        errors.extend(exc.errors)
    if errors:
        raise AccountError("Invalid registration: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                           errors)
    user = User(username=username, username_key=username_key(username), username_skeleton=username_skeleton(username),
                email=email, password_hash=password_hashing(request).hash(password),
                is_admin=is_admin, first_name=first_name, last_name=last_name)
    session.add(user)
    _flush_unique(session)
    if is_admin:
        request.audit(GRANT_ADMIN, USER_OBJECT, user.id, before=None, after={"is_admin": True})
    return user


def register(request, *, username: str, email: str, password: str, first_name: str = "",
             last_name: str = "") -> User:
    """Self-registration: always a customer, whatever else the request carried."""
    rate_limits(request).hit("register_ip", client_ip(request))
    user = create_user(request, username=username, email=email, password=password, is_admin=False,
                       first_name=first_name, last_name=last_name)
    request.notify(UserRegistered(user_id=user.id, username=user.username, email=user.email))
    return user


def get_user(request, user_id: int) -> User:
    user = request.dbsession.get(User, user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("Authentication credentials were not provided or are invalid.")
    return user


def set_admin(request, username: str, is_admin: bool) -> tuple[User, bool]:
    """Make the user named `username` (any case) an admin or a customer; says whether anything changed.

    The change moves the user's generation when it commits (`shopcore.accounts.identity`), so it holds
    for the tokens the user already has, at once, on every process.
    """
    user = request.dbsession.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise field_error("username", f"No user is named {username!r}.")
    if user.is_admin == is_admin:
        return user, False
    user.is_admin = is_admin
    request.audit(GRANT_ADMIN if is_admin else REVOKE_ADMIN, USER_OBJECT, user.id, before={"is_admin": not is_admin},
                  after={"is_admin": is_admin})
    return user, True


def update_profile(request, user_id: int, changes: dict) -> User:
    """Change names at once; a new e-mail address only through its confirmation (`request_email_change`)."""
    unknown = set(changes) - set(PROFILE_FIELDS) - {PROFILE_PASSWORD_FIELD}
    if unknown:
        name = sorted(unknown)[0]
        raise field_error(name, "This field cannot be changed here.")
    user = get_user(request, user_id)
    for name in ("first_name", "last_name"):
        if name in changes:
            setattr(user, name, check_name(name, changes[name]))
    if "email" in changes:
        email = normalize_email(changes["email"])
        if email != user.email:
            request_email_change(request, user, email, changes.get(PROFILE_PASSWORD_FIELD))
    _flush_unique(request.dbsession)
    return user


# --- e-mail change -------------------------------------------------------------------------------

def request_email_change(request, user: User, email: str, current_password: str | None) -> None:
    """Mail a confirmation link to `email`; the address changes only when it is used.

    The answer is the same whether another account has the address or not (that one gets a notice
    instead of a link), so this cannot tell which addresses are registered. A change of case only
    (the same mailbox) takes effect at once.
    """
    limits = rate_limits(request)
    limits.hit("email_change_ip", client_ip(request))
    limits.hit("email_change_account", str(user.id))
    if current_password is None:
        raise field_error(PROFILE_PASSWORD_FIELD, "Enter your current password to change your e-mail address.")
    _check_current_password(request, user, PROFILE_PASSWORD_FIELD, current_password,
                            "Your current password was entered incorrectly.")
    if email.lower() == user.email.lower():
        user.email = email
        return
    session = request.dbsession
    now = utcnow()
    _spend_open_email_changes(session, user.id)
    # Finished requests and expired undo links are of no use to anyone: keep the table small.
    session.execute(delete(EmailChange).where(EmailChange.user_id == user.id, or_(
        EmailChange.spent_at.is_not(None), EmailChange.undone_at.is_not(None),
        and_(EmailChange.confirmed_at.is_(None), EmailChange.expires_at <= now),
        and_(EmailChange.confirmed_at.is_not(None), EmailChange.undo_expires_at <= now))))
    if email_taken(session, email, except_id=user.id):
        request.notify(EmailChangeAddressTaken(user_id=user.id, new_email=email))
        return
    token = secrets.token_urlsafe(32)
    ttl = request.registry.settings["shopcore.accounts.email_change_ttl"]
    session.add(EmailChange(user_id=user.id, old_email=user.email, new_email=email, token_hash=_token_hash(token),
                            created_at=now, expires_at=now + datetime.timedelta(seconds=ttl)))
    session.flush()
    uid = encode_uid(user.id)
    request.notify(EmailChangeRequested(
        user_id=user.id, username=user.username, old_email=user.email, new_email=email, uid=uid, token=token,
        link=mailed_link(request.registry.settings, "email_confirm_link", uid, token)))


def confirm_email_change(request, *, uid: str, token: str) -> None:
    """Use a confirmation link: the new address takes effect, the old one gets a link to undo it."""
    rate_limits(request).hit("email_confirm_ip", client_ip(request))
    session = request.dbsession
    now = utcnow()
    change = session.scalar(select(EmailChange).where(
        EmailChange.token_hash == _token_hash(token), EmailChange.confirmed_at.is_(None),
        EmailChange.spent_at.is_(None), EmailChange.expires_at > now))
    user = _link_owner(session, change, uid)
    # A link made for an address the user has since left is stale.
    if user is None or user.email.lower() != change.old_email.lower():
        raise field_error("token", BAD_EMAIL_LINK)
    if email_taken(session, change.new_email, except_id=user.id):
        raise field_error("token", "Another account has taken this address meanwhile.")
    undo_token = secrets.token_urlsafe(32)
    undo_ttl = request.registry.settings["shopcore.accounts.email_undo_ttl"]
    # Spent by a conditional update, so two confirmations racing with one link cannot both win.
    used = session.execute(
        update(EmailChange).where(EmailChange.id == change.id, EmailChange.confirmed_at.is_(None),
                                  EmailChange.spent_at.is_(None))
        .values(confirmed_at=now, undo_token_hash=_token_hash(undo_token),
                undo_expires_at=now + datetime.timedelta(seconds=undo_ttl))
        .execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise field_error("token", BAD_EMAIL_LINK)
    old_email = user.email
    user.email = change.new_email
    # A reset link mailed to the old address must not outlive the change.
    _spend_open_resets(session, user.id)
    _spend_open_email_changes(session, user.id)
    _flush_unique(session)
    uid = encode_uid(user.id)
    request.notify(EmailChanged(
        user_id=user.id, username=user.username, old_email=old_email, new_email=user.email, uid=uid,
        undo_token=undo_token, undo_link=mailed_link(request.registry.settings, "email_undo_link", uid, undo_token)))


def undo_email_change(request, *, uid: str, token: str) -> None:
    """Use the old address's undo link: restore it and end every login session of the account.

    Whoever changed the address (a stolen session, perhaps with the password) is logged out; the owner
    then chooses a new password with a reset link, which goes to the restored address.
    """
    rate_limits(request).hit("email_confirm_ip", client_ip(request))
    session = request.dbsession
    now = utcnow()
    change = session.scalar(select(EmailChange).where(
        EmailChange.undo_token_hash == _token_hash(token), EmailChange.undone_at.is_(None),
        EmailChange.undo_expires_at > now))
    user = _link_owner(session, change, uid)
    if user is None:
        raise field_error("token", BAD_EMAIL_LINK)
    if email_taken(session, change.old_email, except_id=user.id):
        raise field_error("token", "Another account has taken the old address meanwhile; contact the shop.")
    undone = session.execute(update(EmailChange).where(EmailChange.id == change.id, EmailChange.undone_at.is_(None))
                             .values(undone_at=now).execution_options(synchronize_session=False))
    if undone.rowcount != 1:
        raise field_error("token", BAD_EMAIL_LINK)
    # Every other undo link (one a later change mailed to the intruder's address) stops working.
    session.execute(update(EmailChange).where(EmailChange.user_id == user.id, EmailChange.undone_at.is_(None),
                                              EmailChange.undo_expires_at > now)
                    .values(undo_expires_at=now).execution_options(synchronize_session=False))
    user.email = change.old_email
    user.tokens_valid_after = utcnow()  # every token issued before is refused
    _spend_open_resets(session, user.id)
    _spend_open_email_changes(session, user.id)
    _flush_unique(session)
    request.notify(EmailChangeUndone(user_id=user.id, username=user.username, email=user.email))


def _link_owner(session, row, uid: str) -> User | None:
    """The active user a mailed link's row belongs to, if the link's uid names that user."""
    user_id = decode_uid(uid)
    user = session.get(User, user_id) if row is not None and row.user_id == user_id else None
    return user if user is not None and user.is_active else None


def _spend_open_email_changes(session, user_id: int) -> None:
    session.execute(update(EmailChange).where(EmailChange.user_id == user_id, EmailChange.confirmed_at.is_(None),
                                              EmailChange.spent_at.is_(None))
                    .values(spent_at=utcnow()).execution_options(synchronize_session=False))


# --- login and tokens ----------------------------------------------------------------------------

def log_in(request, *, username: str, password: str) -> dict[str, str]:
    """A new login session's token pair; one answer for an unknown user and a wrong password.

    Guessing is limited per client address (`login_ip`), per account and address
    (`login_account_address`) and per account across every address the account has not logged in
    from (`login_account`); the account limits have tiers, so the pause grows with the failures.
    The account-wide count never pauses an address the owner has logged in from before
    (`known_addresses`): a stranger who knows the username cannot keep the owner out.
    """
    limits = rate_limits(request)
    address = client_ip(request)
    limits.hit("login_ip", address)
    # "ADMIN ", "ａｄｍｉｎ" and "admin" are one account, and count as one.
    account = username_key(username)
    account_address = login_address_key(account, address)
    user = None
    if is_text(username):
        user = request.dbsession.scalar(select(User).where(User.username_key == account))
    known_address = user is not None and is_known_address(request, user.id, address)
    limits.check("login_account_address", account_address)
    if not known_address:
        limits.check("login_account", account)
    hashing = password_hashing(request)
    if user is None:
        hashing.spend_verification_time(password)
    if user is None or not hashing.verify(user.password_hash, password) or not user.is_active:
        limits.hit("login_account_address", account_address)
        if not known_address:
            limits.hit("login_account", account)
        raise NotAuthenticated(BAD_CREDENTIALS)
    # The account-wide count stays: clearing it whenever the owner logs in would hand whoever fills it
    # a fresh allowance each time. Its tiers bound it; a reset clears it.
    limits.clear("login_account_address", account_address)
    remember_address(request, user.id, address)
    if hashing.needs_rehash(user.password_hash):
        user.password_hash = hashing.hash(password)
    return issue_token_pair(request, user)


def login_address_key(account: str, address: str) -> str:
    """What `login_account_address` counts: one account from one client address."""
    return f"{account}\n{address}"


def refresh_tokens(request, *, refresh: str) -> dict[str, str]:
    """A new token pair for a refresh token, which is spent: a second use revokes its whole session."""
    claims = decode_token(request, refresh, REFRESH)
    # The token's own id is not checked here: a spent token's id is what `claim` finds below.
    user = token_owner(request, claims, check=("sid",)) if claims else None
    if user is None:
        raise NotAuthenticated(BAD_REFRESH_TOKEN)
    store = request.registry["shopcore.accounts.revocation_store"]
    started_at = session_started_at(claims)
    if utcnow().timestamp() >= started_at + request.registry.settings["shopcore.accounts.session_lifetime"]:
        # The login session has lasted as long as it may: however often refreshed, it needs a new login.
        store.revoke(request, {f"sid:{claims['sid']}": _session_revocation_expiry(request)})
        raise NotAuthenticated(BAD_REFRESH_TOKEN)
    if not store.claim(request, f"jti:{claims['jti']}", claims["exp"]):
        # Used before: either the client replays it or someone stole it. End the session for both.
        store.revoke(request, {f"sid:{claims['sid']}": _session_revocation_expiry(request)})
        raise NotAuthenticated(BAD_REFRESH_TOKEN)
    return issue_token_pair(request, user, session_id=claims["sid"], started_at=started_at)


def _session_revocation_expiry(request) -> int:
    # Refreshes extend a session, but none of its tokens can outlive a refresh token issued now.
    return int(utcnow().timestamp()) + request.registry.settings["shopcore.jwt.refresh_ttl"] + 1


def log_out(request, identity, refresh: str | None = None) -> None:
    """Revoke the caller's login session (its access and refresh tokens), and the given refresh token's."""
    entries = {f"jti:{identity.token_id}": identity.token_expires_at,
               f"sid:{identity.session_id}": _session_revocation_expiry(request)}
    claims = decode_token(request, refresh, REFRESH) if refresh else None
    if claims and claims["user_id"] == identity.user_id:
        entries.update(dict.fromkeys(revocation_keys(claims), _session_revocation_expiry(request)))
    request.registry["shopcore.accounts.revocation_store"].revoke(request, entries)


# --- passwords -----------------------------------------------------------------------------------

def _set_password(request, user: User, password: str) -> None:
    user.password_hash = password_hashing(request).hash(password)
    # Moves the credentials stamp: every token issued before now is refused.
    user.tokens_valid_after = utcnow()
    _spend_open_resets(request.dbsession, user.id)
    # A change of address asked for before (by whoever held the account then) cannot be confirmed now.
    _spend_open_email_changes(request.dbsession, user.id)


def _check_current_password(request, user: User, field: str, password: str, message: str) -> None:
    """Refuse a wrong current password of a logged-in user (password or e-mail change).

    Counted per account apart from the public login count, which anyone can fill: a full login count
    must not stop the owner, logged in, from changing the password. A wrong one counts as a failed
    login as well, so a stolen access token does not become a second way to guess.
    """
    limits = rate_limits(request)
    limits.check("reauth_account", str(user.id))
    if not password_hashing(request).verify(user.password_hash, password):
        limits.hit("reauth_account", str(user.id))
        limits.hit("login_account", username_key(user.username))
        raise field_error(field, message)
    limits.clear("reauth_account", str(user.id))


def change_password(request, user_id: int, *, old_password: str, new_password: str) -> None:
    user = get_user(request, user_id)
    _check_current_password(request, user, "old_password", old_password, "Your old password was entered incorrectly.")
    check_password(request, "new_password", new_password, username=user.username, email=user.email)
    if new_password == old_password:
        raise field_error("new_password", "The new password must differ from the old one.")
    _set_password(request, user, new_password)
    request.notify(PasswordChanged(user_id=user.id))


# --- personal data --------------------------------------------------------------------------------

def export_user_data(request, user_id: int) -> dict:
    """Everything the shop holds about the user (`personal_data`, with every plugin's part)."""
    return export_personal_data(request, get_user(request, user_id).id)


def delete_account(request, user_id: int, *, password: str) -> None:
    """Erase the user's account, the password confirming it is theirs (see `personal_data.erase_account`).

    A wrong password is counted like a wrong current password (a stolen access token must not erase
    an account, nor become a way to guess the password).
    """
    user = get_user(request, user_id)
    _check_current_password(request, user, "password", password, "Your password was entered incorrectly.")
    erase_account(request, user)


def encode_uid(user_id: int) -> str:
    return base64.urlsafe_b64encode(str(user_id).encode()).decode().rstrip("=")


def decode_uid(uid: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(uid + "=" * (-len(uid) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text) if text.isdigit() and len(text) <= 9 else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def mailed_link(settings, name: str, uid: str, token: str) -> str:
    """The link of setting `shopcore.accounts.<name>` for this uid and token."""
    return settings[f"shopcore.accounts.{name}"].format(
        base_url=settings["shopcore.base_url"].rstrip("/"), uid=uid, token=token)


def reset_link(settings, uid: str, token: str) -> str:
    return mailed_link(settings, "reset_link", uid, token)


def request_password_reset(request, *, email: str) -> str:
    """Mail a one-use reset link to a known, active address; the same answer for any address.

    The request does the same work for every address (count it, queue one job); whether the address
    is known is found out by the job (`send_password_reset_link`), so the answer's timing tells nothing.
    """
    email = normalize_email(email)
    limits = rate_limits(request)
    limits.hit("reset_ip", client_ip(request))
    limits.hit("reset_account", email.lower())
    request.enqueue_job(PASSWORD_RESET_JOB, {"email": email})
    return RESET_REQUESTED_DETAIL


def send_password_reset_link(request, job) -> None:
    """The job of a reset request: for a known, active address, make a link and emit the event that mails it."""
    email = job.payload["email"]
    session = request.dbsession
    user = session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is not None and user.is_active:
        now = utcnow()
        # The user's spent and expired links are of no use to anyone: keep the table small.
        session.execute(delete(PasswordReset).where(
            PasswordReset.user_id == user.id, or_(PasswordReset.used_at.is_not(None), PasswordReset.expires_at <= now)))
        token = secrets.token_urlsafe(32)
        ttl = request.registry.settings["shopcore.accounts.reset_token_ttl"]
        session.add(PasswordReset(user_id=user.id, token_hash=_token_hash(token), created_at=now,
                                  expires_at=now + datetime.timedelta(seconds=ttl)))
        session.flush()
        uid = encode_uid(user.id)
        request.notify(PasswordResetRequested(
            user_id=user.id, username=user.username, email=user.email, uid=uid, token=token,
            link=reset_link(request.registry.settings, uid, token)))


def confirm_password_reset(request, *, uid: str, token: str, new_password: str) -> None:
    """Set a new password with a reset link's uid and token; the token works once, until it expires."""
    rate_limits(request).hit("reset_confirm_ip", client_ip(request))
    session = request.dbsession
    user_id = decode_uid(uid)
    now = utcnow()
    reset = session.scalar(select(PasswordReset).where(
        PasswordReset.token_hash == _token_hash(token), PasswordReset.used_at.is_(None),
        PasswordReset.expires_at > now))
    user = session.get(User, user_id) if reset is not None and reset.user_id == user_id else None
    if user is None or not user.is_active:
        raise field_error("token", BAD_RESET_LINK)
    check_password(request, "new_password", new_password, username=user.username, email=user.email)
    # Spent by a conditional update, so two confirmations racing with one token cannot both win.
    spent = session.execute(update(PasswordReset).where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
                            .values(used_at=now).execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        raise field_error("token", BAD_RESET_LINK)
    _set_password(request, user, new_password)
    # Whoever holds the mailbox is the owner: the pause that failed logins built up ends here, and
    # the address the link was used from is the owner's.
    account, address = username_key(user.username), client_ip(request)
    limits = rate_limits(request)
    limits.clear("login_account", account)
    limits.clear("login_account_address", login_address_key(account, address))
    limits.clear("reauth_account", str(user.id))
    remember_address(request, user.id, address)
    request.notify(PasswordChanged(user_id=user.id))


def _spend_open_resets(session, user_id: int) -> None:
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
                    .values(used_at=utcnow()).execution_options(synchronize_session=False))
