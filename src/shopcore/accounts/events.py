"""Account events, emitted with `request.notify` by the accounts services."""
from __future__ import annotations

from dataclasses import dataclass

from shopcore.events import ShopEvent


@dataclass(frozen=True)
class UserRegistered(ShopEvent):
    user_id: int
    username: str
    email: str


@dataclass(frozen=True)
class PasswordResetRequested(ShopEvent):
    """`uid` and `token` are what the reset link carries; `link` is the whole link to mail."""

    user_id: int
    username: str
    email: str
    uid: str
    token: str
    link: str = ""


@dataclass(frozen=True)
class PasswordChanged(ShopEvent):
    user_id: int


@dataclass(frozen=True)
class EmailChangeRequested(ShopEvent):
    """A logged-in user asked to use `new_email`; `link` (with `uid` and `token`) confirms it and goes there."""

    user_id: int
    username: str
    old_email: str
    new_email: str
    uid: str
    token: str
    link: str


@dataclass(frozen=True)
class EmailChangeAddressTaken(ShopEvent):
    """A user asked to use an address another account has; nothing changes (a notice may go there)."""

    user_id: int
    new_email: str


@dataclass(frozen=True)
class EmailChanged(ShopEvent):
    """The new address was confirmed; `undo_link` (with `uid` and `undo_token`) goes to `old_email`."""

    user_id: int
    username: str
    old_email: str
    new_email: str
    uid: str
    undo_token: str
    undo_link: str


@dataclass(frozen=True)
class EmailChangeUndone(ShopEvent):
    """An undo link restored `email` and ended every login session of the user."""

    user_id: int
    username: str
    email: str
