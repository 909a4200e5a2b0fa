"""Account rules: creating users (registration and the admin command)."""
from __future__ import annotations

from sqlalchemy import func, select

from shopcore.accounts.models import User
from shopcore.accounts.passwords import hash_password
from shopcore.errors import ShopError


class AccountError(ShopError):
    status = 400


def create_user(request, *, username: str, email: str, password: str, is_admin: bool = False) -> User:
    session = request.dbsession
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError("A user with that username already exists.",
                           [{"field": "username", "message": "A user with that username already exists."}])
    if session.scalar(select(User.id).where(func.lower(User.email) == email.lower())) is not None:
        raise AccountError("A user with that email already exists.",
                           [{"field": "email", "message": "A user with that email already exists."}])
    user = User(username=username, email=email, password_hash=hash_password(password), is_admin=is_admin)
    session.add(user)
    session.flush()
    return user
