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
