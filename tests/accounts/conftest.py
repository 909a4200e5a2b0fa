"""Fixtures of the accounts tests: captured events, extra app instances with their own settings."""
from __future__ import annotations

import pytest
import webtest

from shopcore.events import ShopEvent
from shopcore.testing import make_test_configurator

PASSWORD = "correct horse battery"


@pytest.fixture
def events(shopcore_registry):
    """Every event the app emits during the test, in order (subscribed inside the transaction)."""
    seen: list[ShopEvent] = []
    subscriber = (ShopEvent, False, lambda request, event: seen.append(event))
    subscribers = shopcore_registry.setdefault("shopcore.event_subscribers", [])
    subscribers.append(subscriber)
    yield seen
    subscribers.remove(subscriber)


@pytest.fixture
def make_app(shopcore_settings, shopcore_registry, db_connection):
    """`make_app(**settings)`: another app instance (as another web process would be) on the same
    database connection and Redis, with its own process memory and these settings changed (a setting
    given as None falls back to its default)."""

    def make(**overrides) -> webtest.TestApp:
        settings = {key: value for key, value in {**shopcore_settings, **overrides}.items() if value is not None}
        config = make_test_configurator(settings, **{
            "shopcore.engine": shopcore_registry["shopcore.engine"],
            "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"],
        })
        return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    return make


class AuthHelpers:
    """Small helpers for the accounts tests (a fixture, since test modules are not importable here)."""

    password = PASSWORD

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @staticmethod
    def login(app, username: str, password: str = PASSWORD, status: int = 200):
        return app.post_json("/api/auth/login/", {"username": username, "password": password}, status=status)

    @staticmethod
    def fields(response) -> dict[str, str]:
        """{field: first message} of an error body."""
        out: dict[str, str] = {}
        for error in response.json.get("errors", []):
            out.setdefault(error["field"], error["message"])
        return out


@pytest.fixture
def auth() -> AuthHelpers:
    return AuthHelpers()
