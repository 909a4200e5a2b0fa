"""Plugin discovery: entry points in `shopcore.plugins`, the allow-list, contract version and `requires` order."""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Callable, Iterable, Sequence

ENTRY_POINT_GROUP = "shopcore.plugins"
# The plugin contract's version. A plugin states the major version it was written for;
# a different major means directives or events it relies on may have changed.
CONTRACT_VERSION = "2.1"
# Where docs/plugins.md tells a 1.x plugin's author what changed.
UPGRADE_SECTION = 'docs/plugins.md, section "From 1.0 to 2.0"'
# The owner of everything the core itself configures; plugins are owned by their allow-list name.
CORE_OWNER = ""
# Registry key naming the owner whose configuration is being included right now.
INCLUDING = "shopcore.including"


class PluginError(RuntimeError):
    """A plugin cannot be loaded, or clashes with another; the message names each by allow-list name."""


def current_owner(config) -> str:
    """The allow-list name of the plugin whose `includeme` is running (CORE_OWNER for the core).

    Directives capture it when they are called, so errors found later (at commit, or when a request
    runs an extension) still name the plugin.
    """
    return config.registry.get(INCLUDING, CORE_OWNER)


def describe_owner(owner: str) -> str:
    """`plugin 'reviews'`, `the core`, or an extra include's own description."""
    if owner == CORE_OWNER:
        return "the core"
    if owner.startswith("include "):
        return owner
    return f"plugin {owner!r}"


def describe_owners(first: str, second: str) -> str:
    """`plugins 'catalog' and 'reviews'`, `the core and plugin 'reviews'`, `plugin 'reviews' (twice)`."""
    if first == second:
        return f"{describe_owner(first)} (twice)"
    plain = [o for o in (first, second) if o != CORE_OWNER and not o.startswith("include ")]
    if len(plain) == 2:
        return f"plugins {first!r} and {second!r}"
    ordered = sorted((first, second), key=lambda o: o != CORE_OWNER)
    return " and ".join(describe_owner(o) for o in ordered)


@dataclass(frozen=True)
class PluginManifest:
    """What a plugin's entry point names.

    `api` is the contract version the plugin was written against ("1" or "1.0");
    `requires` lists plugin names that must be enabled and are included first;
    `includeme(config)` registers everything through the core's directives;
    `migrations` is the asset spec of the plugin's alembic version folder (`package:folder`), stated
    here rather than in `includeme` so the shop knows it while the plugin is disabled: its tables are
    then kept, listed by `shopcore-admin CONFIG plugins` and dropped by `drop-plugin`.
    """

    name: str
    api: str
    includeme: Callable
    requires: Sequence[str] = ()
    version: str = ""
    description: str = ""
    migrations: str = ""
    distribution: str = field(default="", compare=False)


def contract_major(version: str) -> str:
    return str(version).split(".")[0]


def discover(group: str = ENTRY_POINT_GROUP) -> dict[str, object]:
    """Installed plugin entry points by name, not yet imported."""
    return {ep.name: ep for ep in entry_points(group=group)}


def load_manifest(name: str, entry_point) -> PluginManifest:
    try:
        manifest = entry_point.load()
    except Exception as exc:  # any import failure must name the plugin
        raise PluginError(f"plugin {name!r} failed to import: {type(exc).__name__}: {exc}") from exc
    if not isinstance(manifest, PluginManifest):
        raise PluginError(f"plugin {name!r}: entry point must name a shopcore.plugins.PluginManifest")
    if manifest.name != name:
        raise PluginError(f"plugin {name!r}: manifest is named {manifest.name!r}")
    if contract_major(manifest.api) != contract_major(CONTRACT_VERSION):
        upgrade = f"; see {UPGRADE_SECTION}" if contract_major(manifest.api) == "1" else ""
        raise PluginError(
            f"plugin {name!r} is written for plugin contract {manifest.api}, "
            f"this shopcore provides {CONTRACT_VERSION}{upgrade}"
        )
    if not manifest.version and entry_point.dist is not None:
        manifest = PluginManifest(**{**manifest.__dict__, "version": entry_point.dist.version,
                                     "distribution": entry_point.dist.name})
    return manifest


def installed_manifests(available: dict[str, object] | None = None) -> dict[str, PluginManifest | PluginError]:
    """Every installed plugin's manifest by name, enabled or not; one that cannot load gives its error."""
    available = discover() if available is None else available
    manifests: dict[str, PluginManifest | PluginError] = {}
    for name, entry_point in sorted(available.items()):
        try:
            manifests[name] = load_manifest(name, entry_point)
        except PluginError as exc:
            manifests[name] = exc
    return manifests


def order_by_requirements(manifests: Sequence[PluginManifest]) -> list[PluginManifest]:
    """Requirements first; otherwise the allow-list's order. Missing requirements and cycles fail."""
    by_name = {m.name: m for m in manifests}
    for manifest in manifests:
        for required in manifest.requires:
            if required not in by_name:
                raise PluginError(
                    f"plugin {manifest.name!r} requires plugin {required!r}, which is not enabled"
                )
    ordered: list[PluginManifest] = []
    state: dict[str, str] = {}

    def visit(manifest: PluginManifest, path: list[str]) -> None:
        if state.get(manifest.name) == "done":
            return
        if state.get(manifest.name) == "visiting":
            cycle = " -> ".join(path[path.index(manifest.name):] + [manifest.name])
            raise PluginError(f"plugin {manifest.name!r} is part of a requirement cycle: {cycle}")
        state[manifest.name] = "visiting"
        for required in manifest.requires:
            visit(by_name[required], path + [manifest.name])
        state[manifest.name] = "done"
        ordered.append(manifest)

    for manifest in manifests:
        visit(manifest, [])
    return ordered


def resolve_plugins(allowed: Iterable[str], available: dict[str, object] | None = None) -> list[PluginManifest]:
    """The enabled plugins' manifests, in include order."""
    available = discover() if available is None else available
    manifests = []
    for name in dict.fromkeys(allowed):
        if name not in available:
            known = ", ".join(sorted(available)) or "none"
            raise PluginError(f"plugin {name!r} is enabled but not installed (installed: {known})")
        manifests.append(load_manifest(name, available[name]))
    return order_by_requirements(manifests)
