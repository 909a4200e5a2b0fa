"""Account rules: registration, login and tokens, profile, password change and reset.

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
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from shopcore.accounts.events import PasswordChanged, PasswordResetRequested, UserRegistered
from shopcore.accounts.models import PasswordReset, User, utcnow
from shopcore.accounts.passwords import is_text, password_problems
from shopcore.accounts.ratelimit import client_ip
from shopcore.accounts.tokens import REFRESH, decode_token, issue_token_pair, revocation_keys, token_owner
from shopcore.errors import ShopError

RESET_REQUESTED_DETAIL = "Password reset e-mail has been sent."
BAD_CREDENTIALS = "No active account found with the given credentials."
BAD_REFRESH_TOKEN = "Token is invalid or expired."
BAD_RESET_LINK = "The reset link is invalid or has expired."
PROFILE_FIELDS = ("email", "first_name", "last_name")


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


def username_taken(session, username: str, except_id: int | None = None) -> bool:
    query = select(User.id).where(func.lower(User.username) == username.lower())
    if except_id is not None:
        query = query.where(User.id != except_id)
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

    username = username.strip()
    if not username or len(username) > 150 or not all(c.isalnum() or c in "@.+-_" for c in username):
        refuse("username", "Use 1 to 150 letters, digits and @ . + - _ only.")
    elif username_taken(session, username):
        refuse("username", "A user with that username already exists.")
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
    user = User(username=username, email=email, password_hash=password_hashing(request).hash(password),
                is_admin=is_admin, first_name=first_name, last_name=last_name)
    session.add(user)
    _flush_unique(session)
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


def update_profile(request, user_id: int, changes: dict) -> User:
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise field_error(name, "This field cannot be changed here.")
    session = request.dbsession
    user = get_user(request, user_id)
    if "email" in changes:
        email = normalize_email(changes["email"])
        if email.lower() != user.email.lower():
            if email_taken(session, email, except_id=user.id):
                raise field_error("email", "A user with that email already exists.")
            # A reset link mailed to the old address must not outlive the change.
            _spend_open_resets(session, user.id)
        user.email = email
    for name in ("first_name", "last_name"):
        if name in changes:
            setattr(user, name, check_name(name, changes[name]))
    _flush_unique(session)
    return user


# --- login and tokens ----------------------------------------------------------------------------

def _account_key(username: str) -> str:
    return username.strip().lower()


def log_in(request, *, username: str, password: str) -> dict[str, str]:
    """A new login session's token pair; one answer for an unknown user and a wrong password."""
    limits = rate_limits(request)
    limits.hit("login_ip", client_ip(request))
    account = _account_key(username)
    limits.check("login_account", account)
    user = None
    if is_text(username):
        user = request.dbsession.scalar(select(User).where(func.lower(User.username) == account))
    hashing = password_hashing(request)
    if user is None:
        hashing.spend_verification_time(password)
    if user is None or not hashing.verify(user.password_hash, password) or not user.is_active:
        limits.hit("login_account", account)
        raise NotAuthenticated(BAD_CREDENTIALS)
    limits.clear("login_account", account)
    if hashing.needs_rehash(user.password_hash):
        user.password_hash = hashing.hash(password)
    return issue_token_pair(request, user)


def refresh_tokens(request, *, refresh: str) -> dict[str, str]:
    """A new token pair for a refresh token, which is spent: a second use revokes its whole session."""
    claims = decode_token(request, refresh, REFRESH)
    # The token's own id is not checked here: a spent token's id is what `claim` finds below.
    user = token_owner(request, claims, check=("sid",)) if claims else None
    if user is None:
        raise NotAuthenticated(BAD_REFRESH_TOKEN)
    store = request.registry["shopcore.accounts.revocation_store"]
    if not store.claim(request, f"jti:{claims['jti']}", claims["exp"]):
        # Used before: either the client replays it or someone stole it. End the session for both.
        store.revoke(request, {f"sid:{claims['sid']}": _session_revocation_expiry(request)})
        raise NotAuthenticated(BAD_REFRESH_TOKEN)
    return issue_token_pair(request, user, session_id=claims["sid"])


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


def change_password(request, user_id: int, *, old_password: str, new_password: str) -> None:
    user = get_user(request, user_id)
    limits = rate_limits(request)
    account = _account_key(user.username)
    # Wrong old passwords count as failed logins: a stolen access token must not become a way to guess.
    limits.check("login_account", account)
    if not password_hashing(request).verify(user.password_hash, old_password):
        limits.hit("login_account", account)
        raise field_error("old_password", "Your old password was entered incorrectly.")
    check_password(request, "new_password", new_password, username=user.username, email=user.email)
    if new_password == old_password:
        raise field_error("new_password", "The new password must differ from the old one.")
    _set_password(request, user, new_password)
    _spend_open_resets(request.dbsession, user.id)
    request.notify(PasswordChanged(user_id=user.id))


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


def reset_link(settings, uid: str, token: str) -> str:
    return settings["shopcore.accounts.reset_link"].format(
        base_url=settings["shopcore.base_url"].rstrip("/"), uid=uid, token=token)


def request_password_reset(request, *, email: str) -> str:
    """Mail a one-use reset link to a known, active address; the same answer for any address."""
    email = normalize_email(email)
    limits = rate_limits(request)
    limits.hit("reset_ip", client_ip(request))
    limits.hit("reset_account", email.lower())
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
    return RESET_REQUESTED_DETAIL


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
    _spend_open_resets(session, user.id)
    request.notify(PasswordChanged(user_id=user.id))


def _spend_open_resets(session, user_id: int) -> None:
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
                    .values(used_at=utcnow()).execution_options(synchronize_session=False))
