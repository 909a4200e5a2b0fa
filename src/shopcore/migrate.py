"""Migrations: the core's and each enabled plugin's alembic version locations, run as one history.

The schema only ever comes from these migrations (`shopcore-admin CONFIG migrate`, or
`alembic -c CONFIG upgrade heads`), never from `metadata.create_all`.
"""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from pyramid.exceptions import ConfigurationError
from pyramid.path import AssetResolver

from shopcore.db import Base

# The core's alembic environment (env.py, script.py.mako, versions/) ships inside the package, so a
# pip-installed shop migrates from any folder; an ini file's [alembic] section is not needed.
SCRIPT_LOCATION = "shopcore:migrations"


def core_migrations_folder() -> Path:
    return Path(AssetResolver("shopcore").resolve("migrations").abspath())


def add_migrations(config, asset_spec: str) -> None:
    """Register a plugin's alembic version location (`package:folder`); it must be its own branch."""
    path = AssetResolver(config.package_name).resolve(asset_spec).abspath()
    if not os.path.isdir(path):
        raise ConfigurationError(f"migrations folder {asset_spec} of {config.package_name} does not exist")

    def register():
        config.registry.setdefault("shopcore.migration_locations", []).append(path)

    config.action(("shopcore.migrations", path), register)


def version_locations(registry) -> list[str]:
    core = str(core_migrations_folder() / "versions")
    return [core, *registry.get("shopcore.migration_locations", [])]


def alembic_config(registry, connection=None, config_file: str | None = None) -> Config:
    """An alembic Config whose version locations are the core's and the enabled plugins'.

    `config_file` is only for alembic's own command line (`alembic -c development.ini ...`), whose
    ini may carry logging; the script location is always the packaged one.
    """
    cfg = Config(config_file) if config_file else Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(version_locations(registry)))
    cfg.attributes["registry"] = registry
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(registry, revision: str = "heads", connection=None) -> None:
    """Migrate the core and every enabled plugin (`heads`), on the registry's engine or `connection`."""
    command.upgrade(alembic_config(registry, connection), revision)


def _registry_for(alembic_cfg: Config):
    registry = alembic_cfg.attributes.get("registry")
    if registry is None:
        # Plain `alembic -c CONFIG ...`: build the app from the same ini to learn what is enabled.
        from pyramid.paster import get_appsettings, setup_logging

        from shopcore import make_configurator

        setup_logging(alembic_cfg.config_file_name)
        registry = make_configurator(get_appsettings(alembic_cfg.config_file_name)).registry
    return registry


def run_migrations(context) -> None:
    """Body of shopcore/migrations/env.py."""
    alembic_cfg = context.config
    registry = _registry_for(alembic_cfg)
    # The revision map is built lazily, so the enabled plugins' locations can still be added here
    # when alembic was started from its own command line.
    context.script.version_locations = version_locations(registry)
    connection = alembic_cfg.attributes.get("connection")
    if connection is not None:
        _run(context, connection)
        return
    with registry["shopcore.engine"].begin() as connection:
        _run(context, connection)


def _run(context, connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def includeme(config) -> None:
    config.add_directive("add_migrations", add_migrations)
