"""Configuration ownership and clashes: every action knows which plugin (or the core) registered it.

The app factory includes the core, every enabled plugin and any extra include, then commits once,
so Pyramid's conflict detection sees everything together. Pyramid reports a conflict by file and
line; this module re-raises it as a `PluginError` naming both owners by their allow-list names:

    plugins 'catalog' and 'reviews' both register route 'catalog.products'

Ownership is recorded while each part is included (`ActionOwners.including`): every action that
part's `includeme` queues, directly or through helpers, is stamped with the owner. A helper of the
core called by a plugin is therefore the plugin's, which a file-based guess would get wrong.
"""
from __future__ import annotations

from contextlib import contextmanager

from pyramid.exceptions import ConfigurationConflictError, ConfigurationExecutionError
from pyramid.registry import undefer

from shopcore.plugins import CORE_OWNER, INCLUDING, PluginError, describe_owner, describe_owners
from shopcore.settings import SettingsError

OWNER_KEY = "shopcore_owner"  # extra key on Pyramid's action dicts


class ActionOwners:
    def __init__(self, config):
        self.config = config

    @contextmanager
    def including(self, owner: str):
        """Stamp every action queued inside the block with `owner`; directives read it too."""
        registry = self.config.registry
        state = self.config.action_state
        start = len(state.actions)
        previous = registry.get(INCLUDING, CORE_OWNER)
        registry[INCLUDING] = owner
        try:
            yield
        finally:
            registry[INCLUDING] = previous
            for action in state.actions[start:]:
                action.setdefault(OWNER_KEY, owner)

    def commit(self) -> None:
        """`config.commit()`, with conflicts and failing actions re-raised as PluginError naming owners."""
        pending = list(self.config.action_state.actions)
        try:
            self.config.commit()
        except ConfigurationConflictError as exc:
            raise PluginError(conflict_message(exc._conflicts, pending)) from None
        except ConfigurationExecutionError as exc:
            if isinstance(exc.evalue, (PluginError, SettingsError)):
                raise exc.evalue from None  # already names its plugin or setting
            owner = next((a.get(OWNER_KEY, CORE_OWNER) for a in pending if a.get("info") is exc.info), CORE_OWNER)
            raise PluginError(f"{describe_owner(owner)} failed to configure: "
                              f"{exc.etype.__name__}: {exc.evalue}") from exc


def conflict_message(conflicts: dict, pending: list[dict]) -> str:
    messages = []
    for discriminator in conflicts:
        actions = [a for a in pending if _same(a.get("discriminator"), discriminator)]
        owners = list(dict.fromkeys(a.get(OWNER_KEY, CORE_OWNER) for a in actions)) or [CORE_OWNER]
        # The core first: "the core and plugin 'x'" reads better than the reverse.
        owners.sort(key=lambda owner: owner != CORE_OWNER)
        first, second = (owners + owners)[:2]
        messages.append(f"{describe_owners(first, second)} both register {describe(discriminator, actions)}")
    return "; ".join(messages) + " (a plugin cannot replace another's part; disable the other plugin instead)"


def _same(candidate, discriminator) -> bool:
    try:
        return undefer(candidate) == discriminator
    except Exception:  # a deferred discriminator that cannot resolve is not this one
        return False


def describe(discriminator, actions: list[dict]) -> str:
    """What the clashing actions register, in a plugin author's words."""
    if not isinstance(discriminator, tuple) or not discriminator:
        return repr(discriminator)
    kind = discriminator[0]
    simple = {
        "route": "route", "shopcore.cache_namespace": "cache namespace", "shopcore.admin_command": "admin command",
        "shopcore.extension_point": "extension point", "shopcore.settings_prefix": "settings prefix",
        "shopcore.readiness_check": "readiness check", "shopcore.migrations": "migration branch",
        "shopcore.job_handler": "job handler for kind", "shopcore.openapi_fragment": "OpenAPI fragment",
        "shopcore.periodic_task": "periodic task",
        "shopcore.audited_action": "audited action",
        "shopcore.extensible_body": "extensible body",
    }
    if kind in simple:
        return f"{simple[kind]} {', '.join(repr(part) for part in discriminator[1:])}"
    if kind == "shopcore.body_extension" and len(discriminator) == 3:
        provider = discriminator[2]
        name = f"{getattr(provider, '__module__', '?')}.{getattr(provider, '__qualname__', repr(provider))}"
        return f"body extension {discriminator[1]!r} with provider {name}"
    if kind == "shopcore.extension_key" and len(discriminator) == 3:
        return f"implementation {discriminator[2]!r} of extension point {discriminator[1]!r}"
    if kind == "shopcore.identity_verifier":
        return "the identity verifier"
    if kind == "view":
        route_name = discriminator[3] if len(discriminator) > 3 else None
        methods = _view_methods(actions)
        method = f"{' '.join(methods)} " if methods else ""
        where = f"route {route_name!r}" if route_name else f"view name {discriminator[2]!r}"
        return f"a {method}view on {where} with the same predicates"
    if kind == "service factories":
        iface, _context, name = discriminator[1]
        what = getattr(iface, "__name__", repr(iface))
        return f"service {name!r}" if name else f"service {what}"
    return f"{kind} {', '.join(repr(part) for part in discriminator[1:])}"


def _view_methods(actions: list[dict]) -> list[str]:
    for action in actions:
        for introspectable in action.get("introspectables", ()):
            if getattr(introspectable, "category_name", "") == "views":
                methods = introspectable.get("request_methods")
                if methods:
                    return sorted({methods} if isinstance(methods, str) else set(methods))
    return []
