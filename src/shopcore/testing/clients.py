"""Clients of the app under test: a webtest app per test, and ones logged in as a customer or an admin."""
from __future__ import annotations

import pytest

from shopcore.testing.app import request_context


class AuthenticatedApp:
    """A webtest app that sends a user's bearer token with every request (`user_id`, `token`)."""

    def __init__(self, app, token: str, user_id: int):
        self.app = app
        self.token = token
        self.user_id = user_id

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def __getattr__(self, name):
        method = getattr(self.app, name)
        if name not in ("get", "post", "put", "patch", "delete", "head", "options",
                        "post_json", "put_json", "patch_json", "delete_json"):
            return method

        def call(url, *args, headers=None, **kwargs):
            return method(url, *args, headers=self._headers(headers), **kwargs)

        return call


@pytest.fixture
def testapp(wsgi_app, db_connection):
    """A webtest app on the app under test; everything it writes is rolled back after the test."""
    import webtest

    return webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})


@pytest.fixture
def token_for(shopcore_registry):
    """`token_for(user_id)` -> {"access", "refresh"} for a user, as login would give."""
    from shopcore.accounts.tokens import issue_token_pair

    def issue(user_id: int) -> dict[str, str]:
        with request_context(shopcore_registry) as request:
            return issue_token_pair(request, user_id)

    return issue


@pytest.fixture
def customer(make_user) -> int:
    """The id of a customer named `customer`."""
    return make_user("customer")


@pytest.fixture
def admin(make_user) -> int:
    """The id of an admin named `admin`."""
    return make_user("admin", is_admin=True)


@pytest.fixture
def customer_app(testapp, customer, token_for) -> AuthenticatedApp:
    return AuthenticatedApp(testapp, token_for(customer)["access"], customer)


@pytest.fixture
def other_customer_app(testapp, make_user, token_for) -> AuthenticatedApp:
    user_id = make_user("othercustomer")
    return AuthenticatedApp(testapp, token_for(user_id)["access"], user_id)


@pytest.fixture
def admin_app(testapp, admin, token_for) -> AuthenticatedApp:
    return AuthenticatedApp(testapp, token_for(admin)["access"], admin)
