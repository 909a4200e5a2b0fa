"""Users made through the accounts service, rolled back with the test or committed for real.

A plugin's own data comes from its own testing module (`shopcore_catalog.testing`: products, ...).
"""
from __future__ import annotations

import pytest


def user_factory(open_request):
    """`make(username, is_admin=False, email=None, password=...)` -> user id, written in `open_request()`."""
    from shopcore.accounts.services import create_user

    def make(username: str, *, is_admin: bool = False, email: str | None = None,
             password: str = "correct horse battery") -> int:
        with open_request() as request:
            user = create_user(request, username=username, email=email or f"{username}@example.com",
                               password=password, is_admin=is_admin)
            return user.id

    return make


@pytest.fixture
def make_user(make_request):
    """`make_user("alice", is_admin=False, password=...)` creates a user and returns its id."""
    return user_factory(make_request)


@pytest.fixture
def make_committed_user(make_committed_request):
    """`make_user`, committed for real (for concurrency tests); `token_for(user_id)` logs it in."""
    return user_factory(make_committed_request)
