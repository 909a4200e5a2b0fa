"""Passwords: Argon2 hashing (argon2-cffi), upgraded on login when parameters change, and the password policy."""
from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def _as_bytes(password: str) -> bytes:
    # JSON can carry lone surrogates, which plain UTF-8 refuses to encode; they still must not crash a login.
    return password.encode("utf-8", "surrogatepass")


class PasswordHashing:
    """Argon2id with the parameters from settings; hashes made with other parameters are upgraded on login."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int):
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        # Checked against when a login names no known user, so that answer takes as long as a wrong password.
        self._unknown_user_hash = self.hasher.hash("no such user: this hash only spends the time a real check takes")

    @classmethod
    def from_settings(cls, settings) -> PasswordHashing:
        prefix = "shopcore.accounts.argon2."
        return cls(settings[prefix + "time_cost"], settings[prefix + "memory_cost"], settings[prefix + "parallelism"])

    def hash(self, password: str) -> str:
        return self.hasher.hash(_as_bytes(password))

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, _as_bytes(password))
        except (VerificationError, InvalidHashError):
            return False

    def spend_verification_time(self, password: str) -> None:
        self.verify(self._unknown_user_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(password_hash)
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
    if not is_text(password):
        problems.append("This password contains characters that are not text (a NUL or a lone surrogate).")
    folded = password.strip().casefold()
    personal = {username.casefold(), email.casefold(), email.split("@")[0].casefold()} - {""}
    if folded in personal:
        problems.append("This password is the same as your username or e-mail address.")
    if folded in common_passwords():
        problems.append("This password is too common.")
    return problems


def is_text(value: str) -> bool:
    """Whether `value` can be stored and encoded as it is: no NUL character, no lone surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
