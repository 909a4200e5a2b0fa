"""Apps: an outside system's name, scopes and key, managed by admins; the rules behind `/api/apps/`."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from sqlalchemy import select

from shopcore.clock import utcnow
from shopcore.errors import InvalidInput, NotFound
from shopcore.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_body
from shopcore.scopes import known_scopes

from shopcore_apps.keys import SHOWN_PREFIX_LENGTH, key_digest, new_key
from shopcore_apps.models import App, WebhookSubscription

# A key that could manage apps could make itself a key with every scope: apps are for admins alone.
UNGRANTABLE_AREAS = ("apps",)
NAME_MAX = 100
DESCRIPTION_MAX = 1000

# Admin actions on apps and webhooks recorded in the audit log (declared in the plugin's includeme), and
# their objects. Entries never hold a key, a key's hash or a secret.
APP_OBJECT, WEBHOOK_OBJECT, DELIVERY_OBJECT = "apps.app", "apps.webhook", "apps.webhook_delivery"
APP_CREATED, APP_UPDATED, APP_KEY_ROTATED, APP_DELETED = ("apps.app.create", "apps.app.update",
                                                          "apps.app.rotate_key", "apps.app.delete")
WEBHOOK_CREATED, WEBHOOK_UPDATED, WEBHOOK_SECRET_ROTATED, WEBHOOK_DELETED, WEBHOOK_REDELIVERED = (
    "apps.webhook.create", "apps.webhook.update", "apps.webhook.rotate_secret", "apps.webhook.delete",
    "apps.webhook.redeliver")
AUDITED_ACTIONS = {
    APP_CREATED: "An app was made, with its first key", APP_UPDATED: "An app's name, scopes or state changed",
    APP_KEY_ROTATED: "An app's key was replaced (the old one stopped working)",
    APP_DELETED: "An app was deleted, with its key and its webhook subscriptions",
    WEBHOOK_CREATED: "A webhook subscription was made",
    WEBHOOK_UPDATED: "A webhook subscription's URL, events or state changed",
    WEBHOOK_SECRET_ROTATED: "A webhook subscription's signing secret was replaced",
    WEBHOOK_DELETED: "A webhook subscription was deleted, with its delivery log",
    WEBHOOK_REDELIVERED: "A finished webhook delivery was sent again",
}
# What the log keeps of an app: its own fields, never its key.
APP_FIELDS = ("name", "description", "scopes", "is_active")


def audited_app(app: App) -> dict:
    return {name: list(getattr(app, name)) if name == "scopes" else getattr(app, name) for name in APP_FIELDS}


def app_body(app: App, key: str | None = None) -> dict:
    body = {"id": app.id, "name": app.name, "description": app.description, "scopes": list(app.scopes),
            "key_prefix": app.key_prefix, "is_active": app.is_active, "created_at": app.created_at,
            "updated_at": app.updated_at, "key_created_at": app.key_created_at, "last_used_at": app.last_used_at}
    if key is not None:
        body["key"] = key
    return body


def grantable_scopes(registry) -> list[str]:
    return [scope for scope in known_scopes(registry) if scope.split(":", 1)[0] not in UNGRANTABLE_AREAS]


def parse_text(value: Any, field: str, maximum: int, required: bool) -> str:
    text = str(value).strip()
    if required and not text:
        raise InvalidInput(field, "This field may not be blank.")
    if len(text) > maximum:
        raise InvalidInput(field, f"Ensure this field has no more than {maximum} characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can carry
        raise InvalidInput(field, "Lone surrogates are not text.") from None
    if "\x00" in text:
        raise InvalidInput(field, "Null characters are not allowed.")
    return text


class AppService:
    def __init__(self, request):
        self.request = request
        self.session = request.dbsession

    def parse_scopes(self, scopes: Iterable[str]) -> list[str]:
        allowed = grantable_scopes(self.request.registry)
        chosen = list(dict.fromkeys(scopes))
        for scope in chosen:
            if scope not in allowed:
                area = scope.split(":", 1)[0]
                reason = ("apps are managed by admins only" if area in UNGRANTABLE_AREAS
                          else f"no operation needs it; known scopes: {', '.join(allowed)}")
                raise InvalidInput("scopes", f"Unknown scope {scope!r}: {reason}.")
        return sorted(chosen)

    def create(self, fields: Mapping[str, Any], created_by: int) -> dict:
        key = new_key()
        now = utcnow()
        app = App(name=parse_text(fields["name"], "name", NAME_MAX, required=True),
                  description=parse_text(fields.get("description", ""), "description", DESCRIPTION_MAX, required=False),
                  scopes=self.parse_scopes(fields["scopes"]), key_hash=key_digest(key),
                  key_prefix=key[:SHOWN_PREFIX_LENGTH], is_active=True, created_by=created_by,
                  created_at=now, updated_at=now, key_created_at=now)
        self.session.add(app)
        self.session.flush()
        self.request.audit(APP_CREATED, APP_OBJECT, app.id, before=None,
                           after={**audited_app(app), "key_prefix": app.key_prefix})
        return app_body(app, key)

    def _get(self, app_id: int) -> App:
        app = self.session.get(App, app_id)
        if app is None:
            raise NotFound("App not found.")
        return app

    def get(self, app_id: int) -> dict:
        return app_body(self._get(app_id))

    def list(self, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, base_url: str = "",
             params: Mapping[str, Any] | None = None) -> dict:
        found = fetch_page(self.session, select(App).order_by(App.id.desc()), page, page_size)
        return page_body(found, [app_body(app) for app in found.rows], base_url, params or {})

    def update(self, app_id: int, changes: Mapping[str, Any]) -> dict:
        app = self._get(app_id)
        before = audited_app(app)
        if "name" in changes:
            app.name = parse_text(changes["name"], "name", NAME_MAX, required=True)
        if "description" in changes:
            app.description = parse_text(changes["description"], "description", DESCRIPTION_MAX, required=False)
        if "scopes" in changes:
            app.scopes = self.parse_scopes(changes["scopes"])
        if "is_active" in changes:
            app.is_active = bool(changes["is_active"])
        app.updated_at = utcnow()
        self.session.flush()
        if audited_app(app) != before:
            self.request.audit(APP_UPDATED, APP_OBJECT, app.id, before=before, after=audited_app(app))
        return app_body(app)

    def rotate_key(self, app_id: int) -> dict:
        """A new key; the old one stops working at once, on every process."""
        app = self._get(app_id)
        before = {"key_prefix": app.key_prefix}
        key = new_key()
        app.key_hash, app.key_prefix = key_digest(key), key[:SHOWN_PREFIX_LENGTH]
        app.key_created_at = app.updated_at = utcnow()
        self.session.flush()
        self.request.audit(APP_KEY_ROTATED, APP_OBJECT, app.id, before=before, after={"key_prefix": app.key_prefix})
        return app_body(app, key)

    def delete(self, app_id: int) -> None:
        """The app, its key and its webhook subscriptions go (their deliveries with them)."""
        app = self._get(app_id)
        subscriptions = list(self.session.scalars(select(WebhookSubscription.id)
                                                  .where(WebhookSubscription.app_id == app.id)
                                                  .order_by(WebhookSubscription.id)))
        self.request.audit(APP_DELETED, APP_OBJECT, app.id, before={**audited_app(app), "webhooks": subscriptions},
                           after=None)
        self.session.delete(app)
        self.session.flush()
