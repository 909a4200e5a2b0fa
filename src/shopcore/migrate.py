"""Migrations: the core's and each plugin's alembic version locations, run as one history.

The schema only ever comes from these migrations (`shopcore-admin CONFIG migrate`), never from
`metadata.create_all`. Each plugin is its own alembic branch. `upgrade` moves the core and the
*enabled* plugins to their heads; a disabled plugin's branch (its tables and its row in
`alembic_version`) is left as it is, so plugins can be disabled and enabled again. The migrations of
installed but disabled plugins are still read (from their manifests' `migrations`), so alembic knows
the revisions the database holds and `drop_plugin` can run a plugin's own downgrade.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import to_tuple
from pyramid.exceptions import ConfigurationError
from pyramid.path import AssetResolver

from shopcore.db import Base, schema_change_transaction
from shopcore.plugins import PluginError, PluginManifest, installed_manifests


class MigrationError(RuntimeError):
    """A migration command cannot proceed; the message says why and what to do."""

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


def enabled_version_locations(registry) -> list[str]:
    """The core's folder and those of the enabled plugins, in include order."""
    core = str(core_migrations_folder() / "versions")
    return [core, *registry.get("shopcore.migration_locations", [])]


def manifest_migrations_folder(manifest: PluginManifest) -> str | None:
    if not manifest.migrations:
        return None
    try:
        folder = AssetResolver().resolve(manifest.migrations).abspath()
    except (ImportError, ValueError):
        return None
    return folder if os.path.isdir(folder) else None


def disabled_plugin_folders(registry) -> dict[str, str]:
    """Installed, disabled plugins whose manifests name a migrations folder: name -> folder.

    A disabled plugin that cannot even load (wrong contract major, import error) contributes nothing;
    if the database holds its revisions, `upgrade` says so by name instead of failing in alembic.
    """
    cached = registry.get("shopcore.disabled_migration_folders")
    if cached is not None:
        return cached
    enabled = {manifest.name for manifest in registry.get("shopcore.plugins", [])}
    folders = {}
    for name, manifest in installed_manifests().items():
        if name in enabled or isinstance(manifest, PluginError):
            continue
        folder = manifest_migrations_folder(manifest)
        if folder is not None:
            folders[name] = folder
    registry["shopcore.disabled_migration_folders"] = folders
    return folders


def version_locations(registry) -> list[str]:
    """Every folder alembic reads: the enabled ones, then the disabled plugins' (read, not upgraded)."""
    enabled = enabled_version_locations(registry)
    known = {os.path.realpath(folder) for folder in enabled}
    disabled = [folder for folder in disabled_plugin_folders(registry).values()
                if os.path.realpath(folder) not in known]
    return [*enabled, *disabled]


def alembic_config(registry, connection=None, config_file: str | None = None) -> Config:
    """An alembic Config whose version locations are the core's and every installed plugin's.

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


def _in_folders(script, folders: set[str]) -> bool:
    return os.path.realpath(os.path.dirname(script.path)) in folders


def _check_known(script_dir: ScriptDirectory, connection) -> tuple[str, ...]:
    """The database's current revisions; one that no installed code provides is a clear error."""
    current = MigrationContext.configure(connection).get_current_heads()
    for revision in current:
        try:
            script_dir.revision_map.get_revision(revision)
        except ResolutionError:
            raise MigrationError(
                f"the database holds migration {revision!r}, which no installed plugin provides: "
                f"install the plugin that made it again (disabled is fine; `drop-plugin NAME` then removes "
                f"its tables)") from None
    return current


def upgrade(registry, revision: str = "heads", connection=None) -> None:
    """Migrate the core and every enabled plugin, on the registry's engine or `connection`.

    `heads` means the head of each *enabled* branch: a disabled plugin's revisions stay where they
    are (alembic's own `heads` would migrate every installed plugin). Any other revision is passed
    to alembic as it is.
    """
    if connection is None:
        with schema_change_transaction(registry["shopcore.engine"]) as connection:
            _upgrade(registry, revision, connection)
    else:
        _upgrade(registry, revision, connection)


def _upgrade(registry, revision: str, connection) -> None:
    cfg = alembic_config(registry, connection)
    script_dir = ScriptDirectory.from_config(cfg)
    _check_known(script_dir, connection)
    if revision != "heads":
        command.upgrade(cfg, revision)
        return
    enabled = {os.path.realpath(folder) for folder in enabled_version_locations(registry)}
    for head in script_dir.get_revisions("heads"):
        if _in_folders(head, enabled):
            command.upgrade(cfg, head.revision)


@dataclass(frozen=True)
class PluginTables:
    """What the database holds of one plugin's migrations."""

    name: str
    enabled: bool
    folder: str | None
    revisions: tuple[str, ...]  # the plugin's applied head revision(s) (empty: not migrated)


def plugin_states(registry, connection) -> dict[str, PluginTables]:
    """Every installed plugin with migrations, enabled or not, and the revisions the database holds."""
    cfg = alembic_config(registry, connection)
    script_dir = ScriptDirectory.from_config(cfg)
    current = _check_known(script_dir, connection)
    enabled_names = [manifest.name for manifest in registry.get("shopcore.plugins", [])]
    folders = {manifest.name: manifest_migrations_folder(manifest) for manifest in registry.get("shopcore.plugins", [])}
    folders.update(disabled_plugin_folders(registry))
    states = {}
    # alembic_version holds heads only: a revision another branch depends on has no row of its own.
    applied = {script.revision: script for script in script_dir.revision_map.iterate_revisions(current, "base")}
    for name, folder in folders.items():
        real = {os.path.realpath(folder)} if folder else set()
        mine = {revision: script for revision, script in applied.items() if _in_folders(script, real)}
        below = {down for script in mine.values() for down in to_tuple(script.down_revision, default=())}
        held = tuple(sorted(revision for revision in mine if revision not in below))
        states[name] = PluginTables(name, name in enabled_names, folder, held)
    return states


def _branch_revisions(script_dir: ScriptDirectory, folder: str) -> set[str]:
    real = {os.path.realpath(folder)}
    return {script.revision for script in script_dir.walk_revisions() if _in_folders(script, real)}


def dependents(registry, connection, name: str) -> dict[str, list[str]]:
    """Other plugins whose migrations depend on (or build on) plugin `name`'s: plugin -> revisions."""
    cfg = alembic_config(registry, connection)
    script_dir = ScriptDirectory.from_config(cfg)
    states = plugin_states(registry, connection)
    own = _branch_revisions(script_dir, states[name].folder)
    owners = {rev: plugin for plugin, state in states.items() if state.folder and plugin != name
              for rev in _branch_revisions(script_dir, state.folder)}
    found: dict[str, list[str]] = {}
    for script in script_dir.walk_revisions():
        if script.revision not in owners:
            continue
        needed = set(script._all_down_revisions)
        for dependency in to_tuple(script.dependencies, default=()):
            needed.update(rev.revision for rev in script_dir.revision_map.get_revisions(dependency) if rev)
        if needed & own:
            found.setdefault(owners[script.revision], []).append(script.revision)
    return found


def drop_plugin(registry, name: str, connection=None, confirm=None) -> tuple[str, ...] | None:
    """Run a disabled plugin's own downgrade to its branch's base: its tables and version row go.

    Returns the revisions that were held (empty: nothing to drop), or None when `confirm(revisions)`
    said no. Refuses, with MigrationError, an enabled plugin, one whose migrations are unknown, and
    one another migrated plugin's migrations depend on.
    """
    if connection is None:
        with schema_change_transaction(registry["shopcore.engine"]) as connection:
            return drop_plugin(registry, name, connection, confirm)
    if name in {manifest.name for manifest in registry.get("shopcore.plugins", [])}:
        raise MigrationError(f"plugin {name!r} is enabled: remove it from shopcore.plugins first")
    states = plugin_states(registry, connection)
    if name not in states or states[name].folder is None:
        installed = installed_manifests()
        if name not in installed:
            raise MigrationError(f"plugin {name!r} is not installed (its migrations are needed to drop its tables)")
        if isinstance(installed[name], PluginError):
            raise MigrationError(str(installed[name]))
        raise MigrationError(f"plugin {name!r} declares no migrations in its manifest: nothing to drop")
    if not states[name].revisions:
        return ()
    blocking = {plugin: revs for plugin, revs in dependents(registry, connection, name).items()
                if states[plugin].revisions}
    if blocking:
        listed = ", ".join(f"{plugin!r} ({'enabled' if states[plugin].enabled else 'disabled'})"
                           for plugin in sorted(blocking))
        raise MigrationError(f"plugin {name!r} cannot be dropped: the migrations of {listed} depend on it")
    if confirm is not None and not confirm(states[name].revisions):
        return None
    script_dir = ScriptDirectory.from_config(alembic_config(registry, connection))
    base = script_dir.get_revision(states[name].revisions[0])
    while base.down_revision is not None and base.down_revision in _branch_revisions(script_dir, states[name].folder):
        base = script_dir.get_revision(base.down_revision)
    label = next(iter(base.branch_labels), None)
    if label is None:
        raise MigrationError(f"plugin {name!r}: its first migration {base.revision!r} has no branch label")
    command.downgrade(alembic_config(registry, connection), f"{label}@base")
    return states[name].revisions


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
    # The revision map is built lazily, so the plugins' locations can still be added here when
    # alembic was started from its own command line.
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
