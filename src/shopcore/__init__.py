"""shopcore: the WSGI application factory; wiring only, every subsystem configures itself."""
from __future__ import annotations

from typing import Any, Mapping

from pyramid.config import Configurator

from shopcore.errors import add_error_views
from shopcore.openapi import install_spec
from shopcore.openapi.memo import add_validation_memo
from shopcore.plugins import PluginError, resolve_plugins
from shopcore.settings import load_settings

CORE_SUBSYSTEMS = (
    "shopcore.web",
    "shopcore.observability",
    "shopcore.db",
    "shopcore.security",
    "shopcore.cache",
    "shopcore.events",
    "shopcore.hooks",
    "shopcore.services",
    "shopcore.openapi",
    "shopcore.migrate",
    "shopcore.admin_commands",
    "shopcore.messaging",
    "shopcore.accounts",
    "shopcore.health",
    "shopcore.docs",
)


def make_configurator(raw_settings: Mapping[str, Any], registry_items: Mapping[str, Any] | None = None,
                      environ: Mapping[str, str] | None = None, extra_includes: tuple = ()) -> Configurator:
    """The configured (and committed) core with every enabled plugin included.

    `registry_items` lets tests and scripts supply ready-made parts (an engine, a session factory)
    before the subsystems that would otherwise build them from settings. `extra_includes` are
    included after the plugins, with the same directives (tests use them for throwaway routes).
    """
    settings = load_settings(raw_settings, environ)
    config = Configurator(settings=settings)
    for key, value in (registry_items or {}).items():
        config.registry[key] = value
    for subsystem in CORE_SUBSYSTEMS:
        config.include(subsystem)
    add_error_views(config)
    config.commit()

    manifests = resolve_plugins(settings["shopcore.plugins"])
    config.registry["shopcore.plugins"] = manifests
    for manifest in manifests:
        try:
            config.include(manifest.includeme)
            config.commit()
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f"plugin {manifest.name!r} failed to configure: {type(exc).__name__}: {exc}") from exc
    for include in extra_includes:
        config.include(include)
        config.commit()
    spec = install_spec(config)
    add_validation_memo(config, spec)
    config.commit()
    return config


def main(global_config: Mapping[str, Any], **settings: Any):
    """paste.app_factory entry point used by `pserve development.ini` and `production.ini`."""
    return make_configurator(settings).make_wsgi_app()
