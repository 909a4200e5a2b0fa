"""The app under test, one per allow-list, and requests for calling services without HTTP.

A suite chooses its plugins by overriding `shopcore_plugins` (session- or module-scoped). The
session's `shopcore_apps` builds an app for an allow-list the first time a module asks for it. The
apps share the test database, so only the latest one is live: asking for another allow-list resets
the schema and migrates it for that one. `make test` runs every suite in one session, and each
module gets the app of its own allow-list.
"""
from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

import pytest
import transaction
from pyramid.request import Request, apply_request_extensions
from pyramid.threadlocal import manager as threadlocal_manager

from shopcore.testing.database import SEEDED_ROWS, SessionFactorySwitch, reset_schema, seeded_rows

SHOP_PLUGINS = ("catalog", "cart", "orders", "notifications", "payments")


def default_plugins() -> list[str]:
    """SHOPCORE_TEST_PLUGINS if set, else every shop plugin that is installed (the core's suites)."""
    chosen = os.environ.get("SHOPCORE_TEST_PLUGINS")
    if chosen is not None:
        return chosen.replace(",", " ").split()
    from shopcore.plugins import discover

    installed = discover()
    return [name for name in SHOP_PLUGINS if name in installed]


def make_test_configurator(settings: dict, extra_includes: tuple = (), **registry_items):
    """The app's configurator with the environment ignored, so only `settings` decide."""
    from shopcore import make_configurator

    return make_configurator(settings, registry_items=registry_items, environ={},
                             extra_includes=extra_includes)


def app_settings(database_url: str, redis_url: str | None, plugins, folder: Path) -> dict:
    """Settings of an app under test: the test services, mail to files, responses validated."""
    return {
        "shopcore.env": "testing",
        "shopcore.secret": "test-secret-" + "x" * 40,
        "sqlalchemy.url": database_url,
        "shopcore.plugins": " ".join(plugins),
        "shopcore.redis_url": redis_url or "",
        "shopcore.broker_url": "",
        "shopcore.mail.backend": "file",
        "shopcore.mail.dir": str(folder / "mail"),
        # Page links start at the base URL; WebTest's own host, so a test can follow them.
        "shopcore.base_url": "http://localhost",
        "shopcore.openapi.validate_responses": "true",
        # Cheap Argon2 keeps the many test logins fast; the accounts tests check the real defaults.
        "shopcore.accounts.argon2.time_cost": "1",
        "shopcore.accounts.argon2.memory_cost": "8192",
        "shopcore.accounts.argon2.parallelism": "1",
    }


class ShopcoreApp:
    """One app under test on a freshly migrated schema: `plugins`, `settings`, `engine`, `config`,
    `registry`, `wsgi_app`."""

    def __init__(self, plugins: tuple[str, ...], settings: dict, engine, config):
        self.plugins = plugins
        self.settings = settings
        self.engine = engine
        self.config = config
        self.registry = config.registry
        self._built: dict = {}

    @functools.cached_property
    def wsgi_app(self):
        return self.config.make_wsgi_app()

    def once(self, key, build):
        """`build()`'s result, made the first time `key` is asked for on this app: for a suite's own
        objects derived from it (another app instance on its database, a parsed spec), which go
        with the app when another allow-list replaces it."""
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]

    def close(self) -> None:
        self._built.clear()
        self.engine.dispose()


class ShopcoreApps:
    """The session's apps, by allow-list (and extra settings), built when first asked for.

    They share one database, so only the latest is live: asking for another allow-list retires the
    current app, drops every table and migrates the schema for the new one.
    """

    def __init__(self, database_url: str, redis_url: str | None, folder: Path):
        self.database_url = database_url
        self.redis_url = redis_url
        self.folder = folder
        self.current: ShopcoreApp | None = None
        self._key = None
        self.builds = 0

    def get(self, plugins, extra_settings: dict | None = None) -> ShopcoreApp:
        plugins = tuple(plugins)
        extra = dict(extra_settings or {})
        key = (plugins, tuple(sorted(extra.items())))
        if self.current is not None and self._key == key:
            return self.current
        self.close()
        self.current, self._key = self._build(plugins, extra), key
        return self.current

    def _build(self, plugins: tuple[str, ...], extra: dict) -> ShopcoreApp:
        from shopcore.db import make_engine, make_session_factory
        from shopcore.migrate import upgrade

        self.builds += 1
        settings = {**app_settings(self.database_url, self.redis_url, plugins,
                                    self.folder / f"app-{self.builds}"), **extra}
        engine = make_engine(settings)
        reset_schema(engine)
        config = make_test_configurator(settings, **{
            "shopcore.engine": engine,
            "shopcore.dbsession_factory": SessionFactorySwitch(make_session_factory(engine)),
        })
        upgrade(config.registry)
        config.registry[SEEDED_ROWS] = seeded_rows(engine)
        return ShopcoreApp(plugins, settings, engine, config)

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = self._key = None


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    """The allow-list of the app under test; a suite overrides it (session or module scope)."""
    return default_plugins()


@pytest.fixture(scope="session")
def shopcore_extra_settings() -> dict:
    """Settings a suite's app runs with on top of the kit's (override it, as `shopcore_plugins`)."""
    return {}


@pytest.fixture(scope="session")
def shopcore_apps(database_url, redis_url, tmp_path_factory):
    """The session's `ShopcoreApps`: `shopcore_apps.get(plugins)` -> the app for that allow-list."""
    apps = ShopcoreApps(database_url, redis_url, tmp_path_factory.mktemp("apps"))
    yield apps
    apps.close()


@pytest.fixture(scope="module")
def shopcore_app(shopcore_apps, shopcore_plugins, shopcore_extra_settings) -> ShopcoreApp:
    """The app of this module's allow-list (built, or rebuilt on a fresh schema, when needed)."""
    return shopcore_apps.get(shopcore_plugins, shopcore_extra_settings)


@pytest.fixture(scope="module")
def shopcore_settings(shopcore_app) -> dict:
    """Settings of the app under test (a copy: change it for an app of your own)."""
    return dict(shopcore_app.settings)


@pytest.fixture(scope="module")
def shopcore_engine(shopcore_app):
    return shopcore_app.engine


@pytest.fixture(scope="module")
def shopcore_config(shopcore_app):
    return shopcore_app.config


@pytest.fixture(scope="module")
def shopcore_registry(shopcore_app):
    return shopcore_app.registry


@pytest.fixture(scope="module")
def wsgi_app(shopcore_app):
    return shopcore_app.wsgi_app


def clear_caches(registry) -> None:
    """Empty every cache region of an app (its own process memory; Redis is flushed per test)."""
    region = registry.get("shopcore.cache_region")
    regions = {id(region): region} if region is not None else {}
    for namespace in registry.get("shopcore.cache_namespaces", {}).values():
        regions[id(namespace.region)] = namespace.region
    for item in regions.values():
        item.invalidate(hard=True)


@pytest.fixture(autouse=True)
def _fresh_services(request):
    """Each test of an app starts with empty Redis and caches, whatever the previous test left."""
    if "shopcore_app" not in request.fixturenames:
        yield
        return
    registry = request.getfixturevalue("shopcore_app").registry
    url = registry.settings["shopcore.redis_url"]
    if url:
        import redis

        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
    clear_caches(registry)
    rate_limits = registry.get("shopcore.accounts.rate_limits")
    if rate_limits is not None:
        rate_limits.reset()  # counts kept in process memory when there is no Redis
    yield


@contextlib.contextmanager
def request_context(registry, path: str = "/"):
    """A real request with its own transaction manager, for calling services without HTTP.

    The transaction commits when the block ends without error and aborts otherwise.
    """
    request = Request.blank(path)
    request.registry = registry
    apply_request_extensions(request)
    request.tm = transaction.TransactionManager(explicit=True)
    threadlocal_manager.push({"registry": registry, "request": request})
    request.tm.begin()
    try:
        yield request
    except BaseException:
        request.tm.abort()
        raise
    else:
        request.tm.commit()
    finally:
        threadlocal_manager.pop()


@pytest.fixture
def make_request(shopcore_registry, db_connection):
    """`with make_request() as request:` — services run in a committed (savepoint) transaction."""
    return lambda path="/": request_context(shopcore_registry, path)


@pytest.fixture
def audit_trail(db_connection):
    """`audit_trail(object_type, object_id)` -> the audit log's entries about one object, oldest first, as
    `(action, before, after)`: what a test of a plugin's admin actions compares."""
    from sqlalchemy import select

    from shopcore.audit.models import AuditEntry

    def read(object_type: str, object_id) -> list[tuple]:
        rows = db_connection.execute(
            select(AuditEntry.action, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.occurred_at, AuditEntry.id))
        return [tuple(row) for row in rows]

    return read


@pytest.fixture
def make_committed_request(shopcore_registry, committed_db):
    """`with make_committed_request() as request:` like `make_request`, but the block really commits.

    For concurrency tests (with `live_server` or threads): `committed_db` empties every table afterwards.
    """
    return lambda path="/": request_context(shopcore_registry, path)


@pytest.fixture
def register_extension(shopcore_registry):
    """`register_extension(point, implementation, order=0, key=None)`: an extension for this test only.

    Goes through `config.add_extension`, exactly as a plugin's includeme would (a payment provider of
    the test's own: `register_extension("payments.providers", provider, key="testpay")`).
    """
    from pyramid.config import Configurator

    added = []

    def register(point: str, implementation, order: int = 0, key: str | None = None) -> None:
        config = Configurator(registry=shopcore_registry)
        config.add_extension(point, implementation, order=order, key=key)
        config.commit()
        added.append((point, implementation))

    yield register
    points = shopcore_registry.get("shopcore.extensions", {})
    for point, implementation in added:
        points[point] = [entry for entry in points[point] if entry[-1] is not implementation]
