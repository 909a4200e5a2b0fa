"""Passwords: Argon2 hashing (argon2-cffi), upgraded on login when parameters change, and the password policy."""
from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _unknown_user_hash() -> str:
    return _hasher.hash("no such user: this hash only spends the time a real check takes")


def spend_verification_time(password: str) -> None:
    """Check against a throwaway hash, so a login naming no known user takes as long as a wrong password."""
    verify_password(_unknown_user_hash(), password)


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("shopcore.accounts").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def password_problems(password: str, *, username: str = "", email: str = "", min_length: int = 10) -> list[str]:
    """Why `password` is refused, in words for the user; empty when it is acceptable."""
    problems = []
    if len(password) < min_length:
        problems.append(f"This password is too short; it must contain at least {min_length} characters.")
    if password.isdigit():
        problems.append("This password is entirely numeric.")
    folded = password.strip().casefold()
    personal = {username.casefold(), email.casefold(), email.split("@")[0].casefold()} - {""}
    if folded in personal:
        problems.append("This password is the same as your username or e-mail address.")
    if folded in common_passwords():
        problems.append("This password is too common.")
    return problems
