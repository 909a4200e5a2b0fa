"""shopcore's pytest plugin (loaded by the `pytest11` entry point of `pip install shopcore[testing]`): a
migrated database per allow-list, one rolled-back transaction per test, webtest clients, real services.

The fixtures live in small modules registered below: `database` (the test database and the per-test
transaction), `app` (the app under test, one per allow-list), `clients` (webtest apps, logged-in
clients), `factories` (users), `concurrency` (a live server, simultaneous clients), `messaging`
(brokers, worker helpers). A plugin's own fixtures come from its own `testing` module and entry point
(`shopcore_catalog.testing`: products; `shopcore_orders.testing`: orders; `shopcore_notifications.testing`:
the SMTP server). Nothing here reads an ini file or the source tree: the schema comes from the
migrations shipped in the packages.

Environment:
- SHOPCORE_TEST_DATABASE_URL: a PostgreSQL URL (the database is created if missing and its schema
  rebuilt from migrations for each allow-list), or `sqlite` for a SQLite file in a temporary folder
  (what an unset variable also gives, with a note in the summary).
- SHOPCORE_TEST_REDIS_URL: Redis for cache, revocation and rate limits (flushed before each test).
- SHOPCORE_TEST_BROKER_URL: a Kombu broker URL for the messaging tests.
- SHOPCORE_TEST_REQUIRE_SERVICES=1 (CI): a missing or unreachable service fails the run instead of
  skipping the tests that need it.
- SHOPCORE_TEST_PLUGINS: the default allow-list (default: every shop plugin installed); a suite
  chooses its own by overriding the `shopcore_plugins` fixture.
"""
from __future__ import annotations

from shopcore.testing.app import (SHOP_PLUGINS, ShopcoreApp, ShopcoreApps, clear_caches, default_plugins,
                                  make_test_configurator, request_context)
from shopcore.testing.clients import AuthenticatedApp
from shopcore.testing.concurrency import LiveServer, run_in_threads
from shopcore.testing.database import SessionFactorySwitch, reset_schema, truncate_all
from shopcore.testing.factories import user_factory
from shopcore.testing.messaging import WorkerThread, wait_until
from shopcore.testing.services import require_service, service_url, services_required, testing_postgresql

__all__ = ["SHOP_PLUGINS", "AuthenticatedApp", "LiveServer", "SessionFactorySwitch", "ShopcoreApp", "ShopcoreApps",
           "WorkerThread", "clear_caches", "default_plugins", "make_test_configurator", "request_context",
           "require_service", "reset_schema", "run_in_threads", "service_url", "services_required",
           "testing_postgresql", "truncate_all", "user_factory", "wait_until"]

# Registered with this plugin, so their fixtures are everyone's (pytest's documented `pytest_plugins`).
pytest_plugins = ["shopcore.testing.database", "shopcore.testing.app", "shopcore.testing.clients",
                  "shopcore.testing.factories", "shopcore.testing.concurrency", "shopcore.testing.messaging"]

# Deprecation warnings of the shop's dependencies that a plugin author can do nothing about; hidden so
# a plugin's test run (warnings as errors, or not) stays quiet. Each names the module that warns.
THIRD_PARTY_WARNINGS = (
    # WebOb 1.8 imports `cgi` (deprecated in Python 3.11) for multipart bodies.
    "ignore:'cgi' is deprecated:DeprecationWarning:webob.compat",
    # dogpile.cache's Redis backend calls `setex`, which redis-py 5+ marks deprecated.
    "ignore:Call to deprecated setex:DeprecationWarning:dogpile.cache.backends.redis",
    # pyramid_jwt 1.6 stamps tokens with `datetime.utcnow()` (deprecated in Python 3.12).
    "ignore:datetime.datetime.utcnow:DeprecationWarning:pyramid_jwt.policy",
)


def pytest_addoption(parser):
    parser.addini("shopcore_third_party_warnings", type="bool", default=False,
                  help="show the shop's dependencies' deprecation warnings that shopcore's test kit hides")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "postgresql_only: needs PostgreSQL itself (row locks, ...); deselected, not skipped, "
                   "when the run's database is SQLite, whose own pass proves the rest")
    if not config.getini("shopcore_third_party_warnings"):
        # Appended after the project's own `filterwarnings` (even `error`), so they win over it; a
        # `-W` option or a test's `filterwarnings` mark still wins over them.
        for line in THIRD_PARTY_WARNINGS:
            config.addinivalue_line("filterwarnings", line)


def pytest_collection_modifyitems(config, items):
    from shopcore.testing.services import not_tested

    if testing_postgresql():
        return
    postgresql_only = [item for item in items if item.get_closest_marker("postgresql_only")]
    if postgresql_only:
        config.hook.pytest_deselected(items=postgresql_only)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql_only")]
        not_tested.append(f"{len(postgresql_only)} PostgreSQL-only tests deselected: the run's database "
                          f"is SQLite (they run when SHOPCORE_TEST_DATABASE_URL is PostgreSQL)")


def pytest_terminal_summary(terminalreporter):
    from shopcore.testing.services import not_tested

    if not_tested:
        terminalreporter.section("shopcore: services not tested", sep="!")
        for line in sorted(set(not_tested)):
            terminalreporter.write_line(f"NOT TESTED IN THIS RUN: {line}")
