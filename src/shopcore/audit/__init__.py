"""The audit log: every admin action recorded (who, when, what, the object before and after), never changed.

A plugin declares the actions it records, in its `includeme`:

    config.add_audited_action("catalog.product.update", doc="A product's fields changed")

and records one where the action is done, in the action's own transaction (one line):

    request.audit("catalog.product.update", "catalog.product", product.id, before=old, after=new)

`request.audit` takes the actor from the request's identity (None for `shopcore-admin` and jobs) and
writes the entry with the action's other writes: an action that rolls back leaves no entry, and an
entry that fails to write fails the action. Recording an action nobody declared is a programming
error (LookupError), caught by the first test that runs it.

Entries are only ever inserted; nothing in the shop updates or deletes them, and on PostgreSQL a
trigger (migration core_0005) refuses both. `GET /api/audit/` lists them to admins.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyramid.exceptions import ConfigurationError

from shopcore.plugins import CORE_OWNER, PluginError, current_owner, describe_owner

# Registry key: action name -> AuditedAction.
ACTIONS = "shopcore.audited_actions"
VIEW_PERMISSION = "audit.view"


@dataclass(frozen=True)
class AuditedAction:
    name: str
    doc: str
    owner: str


def add_audited_action(config, name: str, *, doc: str) -> None:
    """Declare an action this plugin records with `request.audit`; its name starts with the plugin's."""
    owner = current_owner(config)
    if not isinstance(name, str) or "." not in name.strip(".") or name != name.strip() or len(name) > 100:
        raise ConfigurationError(f"audited action name {name!r} must be '<owner plugin>.<action>' (100 characters "
                                 f"at most)")
    if owner != CORE_OWNER and not owner.startswith("include ") and not name.startswith(f"{owner}."):
        raise PluginError(f"{describe_owner(owner)} declares audited action {name!r}: its name must start with "
                          f"{owner + '.'!r}")
    if not isinstance(doc, str) or not doc.strip():
        raise ConfigurationError(f"audited action {name!r}: doc must say what the action is")
    action = AuditedAction(name, doc.strip(), owner)

    def register():
        config.registry.setdefault(ACTIONS, {})[name] = action

    config.action(("shopcore.audited_action", name), register)


def audited_actions(registry) -> dict[str, AuditedAction]:
    return dict(registry.get(ACTIONS, {}))


def includeme(config) -> None:
    from shopcore.audit.service import record
    from shopcore.audit.views import list_audit_entries

    config.add_directive("add_audited_action", add_audited_action, action_wrap=True)
    config.add_request_method(record, "audit")
    config.add_openapi_fragment("shopcore.audit:openapi.yaml")
    config.add_route("audit_entries", "/api/audit/")
    config.add_view(list_audit_entries, route_name="audit_entries", request_method="GET", renderer="json",
                    openapi=True, permission=VIEW_PERMISSION)


__all__ = ["AuditedAction", "VIEW_PERMISSION", "add_audited_action", "audited_actions"]
