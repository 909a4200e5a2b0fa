"""shopcore: the WSGI application factory; wiring only, every subsystem configures itself."""
from __future__ import annotations

import os
import warnings
from typing import Any, Mapping

# WebOb 1.8 imports `cgi`, deprecated since Python 3.11, when it is first imported. Imported here, before
# anything else, with that one warning hidden: whoever imports shopcore (a plugin's test run loading
# its kit with warnings as errors) cannot do anything about it.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    import webob.compat  # noqa: F401

from pyramid.config import Configurator  # noqa: E402

from shopcore.clashes import ActionOwners
from shopcore.errors import add_error_views
from shopcore.openapi import install_spec
from shopcore.openapi.compiled import add_compiled_validation
from shopcore.plugins import CORE_OWNER, PluginError, resolve_plugins
from shopcore.settings import load_settings

CORE_SUBSYSTEMS = (
    "shopcore.settings",
    "shopcore.web",
    "shopcore.observability",
    "shopcore.db",
    "shopcore.security",
    "shopcore.cache",
    "shopcore.events",
    "shopcore.extensions",
    "shopcore.services",
    "shopcore.bodies",
    "shopcore.openapi",
    "shopcore.scopes",
    "shopcore.public_events",
    "shopcore.migrate",
    "shopcore.admin_commands",
    "shopcore.idempotency",
    "shopcore.messaging",
    "shopcore.audit",
    "shopcore.accounts",
    "shopcore.health",
    "shopcore.docs",
)


def make_configurator(raw_settings: Mapping[str, Any], registry_items: Mapping[str, Any] | None = None,
                      environ: Mapping[str, str] | None = None, extra_includes: tuple = ()) -> Configurator:
    """The configured (and committed) core with every enabled plugin included.

    The core's subsystems, every enabled plugin (in `requires` order) and the `extra_includes` are
    all included first and committed once, so a part of one that clashes with a part of another (a
    route, a view, a cache namespace, ...) is found by Pyramid and reported as a `PluginError`
    naming both. Then the OpenAPI spec is assembled from the fragments that commit registered and
    installed with what derives from it (spec routes, 405 views, the validation memo): only the core
    adds those, in a second commit.

    `registry_items` lets tests and scripts supply ready-made parts (an engine, a session factory)
    before the subsystems that would otherwise build them from settings. `extra_includes` are
    included after the plugins, with the same directives (tests use them for throwaway routes).
    """
    settings = load_settings(raw_settings, environ)
    config = Configurator(settings=settings)
    for key, value in (registry_items or {}).items():
        config.registry[key] = value
    # Settings tables added by plugins read the environment too (tests pass their own, often empty).
    config.registry["shopcore.environ"] = os.environ if environ is None else environ
    manifests = resolve_plugins(settings["shopcore.plugins"])
    config.registry["shopcore.plugins"] = manifests
    owners = ActionOwners(config)
    with owners.including(CORE_OWNER):
        for subsystem in CORE_SUBSYSTEMS:
            config.include(subsystem)
        add_error_views(config)
    for manifest in manifests:
        try:
            with owners.including(manifest.name):
                config.include(manifest.includeme)
                if manifest.migrations:
                    # Declared in the manifest (so known while the plugin is disabled), registered here as
                    # part of the plugin's own include: at the top level the action would silently
                    # override another plugin's claim on the same folder instead of clashing with it.
                    plugin_config = config.with_package(manifest.includeme.__module__)
                    plugin_config.includepath = config.includepath + (_include_name(manifest.includeme),)
                    plugin_config.add_migrations(manifest.migrations)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f"plugin {manifest.name!r} failed to configure: {type(exc).__name__}: {exc}") from exc
    for include in extra_includes:
        with owners.including(f"include {_include_name(include)!r}"):
            config.include(include)
    owners.commit()
    spec = install_spec(config)
    add_compiled_validation(config, spec)
    config.commit()
    return config


def _include_name(include) -> str:
    if isinstance(include, str):
        return include
    return f"{getattr(include, '__module__', '?')}.{getattr(include, '__qualname__', '?')}"


def main(global_config: Mapping[str, Any], **settings: Any):
    """paste.app_factory entry point used by `pserve development.ini` and `production.ini`."""
    return make_configurator(settings).make_wsgi_app()
