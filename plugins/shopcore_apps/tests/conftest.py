"""Fixtures of the apps plugin's tests: the shop's plugins plus apps, receivers on loopback allowed."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return ["catalog", "cart", "orders", "notifications", "apps"]


@pytest.fixture(scope="session")
def shopcore_extra_settings() -> dict:
    # The receivers run in the test process, on 127.0.0.1.
    return {"shopcore.apps.webhook_allow_private_targets": "true"}


@pytest.fixture
def messaging_app(messaging_app):
    """The kit's `messaging_app`, whose webhook senders' kept-alive connections are closed after the test."""
    from shopcore_apps.delivery import SENDER

    built = []

    def build(*args, **kwargs):
        registry = messaging_app(*args, **kwargs)
        built.append(registry)
        return registry

    yield build
    for registry in built:
        registry[SENDER].close()


@pytest.fixture
def make_app(shopcore_settings, shopcore_registry, db_connection):
    """`make_app(**settings)`: another app instance on the test's connection with these settings changed."""
    import webtest

    from shopcore.testing import make_test_configurator

    def make(**overrides) -> webtest.TestApp:
        config = make_test_configurator({**shopcore_settings, **overrides}, **{
            "shopcore.engine": shopcore_registry["shopcore.engine"],
            "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"],
        })
        return webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    return make
