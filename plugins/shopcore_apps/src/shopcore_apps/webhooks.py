"""Webhook subscriptions and the delivery log: the rules behind `/api/webhooks/`, and the subscriber that
turns every public event into one delivery per matching subscription.

A subscription is made by an admin or by an app holding `webhooks:write`; an app sees and changes only
its own. Its `events` are public event names (`shopcore.public_events`: `order.paid`), whole families
(`order.*`) or `*`. Its secret is generated unless given, and shown once; a rotation makes a new one,
and the previous one keeps signing (a second signature) until the overlap ends.

Deliveries are made in the transaction of the change (`enqueue_deliveries`, an in-transaction
subscriber of every event): a row with the exact body to send and an outbox job on the `webhooks`
queue, both committed with the change or not at all. The request does nothing else; the worker sends.
"""
from __future__ import annotations

import datetime
import json
import secrets
import uuid
from typing import Any, Mapping

from sqlalchemy import delete, select

from shopcore.clock import as_utc, utcnow
from shopcore.errors import Conflict, InvalidInput, NotFound
from shopcore.events import ShopEvent
from shopcore.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_body
from shopcore.public_events import jsonable, public_event_for, public_events

from shopcore_apps.models import CANCELLED, FAILED, PENDING, SUCCEEDED, WebhookDelivery, WebhookSubscription
from shopcore_apps.services import (DELIVERY_OBJECT, WEBHOOK_CREATED, WEBHOOK_DELETED, WEBHOOK_OBJECT,
                                    WEBHOOK_REDELIVERED, WEBHOOK_SECRET_ROTATED, WEBHOOK_UPDATED, parse_text)
from shopcore_apps.settings import SETTINGS_KEY
from shopcore_apps.targets import check_url

DELIVERY_JOB = "apps.webhook"
SECRET_PREFIX = "whsec_"
SECRET_MIN, SECRET_MAX = 16, 200
MAX_EVENTS = 100
MAX_OVERLAP = 7 * 86400
# Per request: the active subscriptions, read once however many events the request emits.
_ACTIVE = "shopcore_apps.active_subscriptions"


def subscription_body(subscription: WebhookSubscription, secret: str | None = None) -> dict:
    body = {"id": subscription.id, "url": subscription.url, "events": list(subscription.events),
            "description": subscription.description, "is_active": subscription.is_active,
            "disabled_reason": subscription.disabled_reason,
            "consecutive_failures": subscription.consecutive_failures, "app": subscription.app_id,
            "previous_secret_expires_at": as_utc(subscription.previous_secret_expires_at),
            "created_at": subscription.created_at, "updated_at": subscription.updated_at}
    if secret is not None:
        body["secret"] = secret
    return body


def delivery_body(delivery: WebhookDelivery) -> dict:
    return {"id": str(delivery.id), "subscription": delivery.subscription_id, "event": delivery.event,
            "event_id": str(delivery.event_id), "status": delivery.status, "attempts": delivery.attempts,
            "last_status_code": delivery.last_status_code, "last_error": delivery.last_error,
            "last_attempt_at": delivery.last_attempt_at, "next_attempt_at": delivery.next_attempt_at,
            "delivered_at": delivery.delivered_at, "created_at": delivery.created_at}


def audited_subscription(subscription: WebhookSubscription) -> dict:
    """What the audit log keeps of a subscription: where it sends what, never its secrets."""
    return {"url": subscription.url, "events": list(subscription.events), "description": subscription.description,
            "is_active": subscription.is_active, "app": subscription.app_id}


def event_matches(patterns: list[str], name: str) -> bool:
    return name in patterns or "*" in patterns or f"{name.split('.', 1)[0]}.*" in patterns


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signing_secrets(subscription: WebhookSubscription, now: datetime.datetime) -> list[str]:
    """The secrets that sign right now: the current one, and the previous one during its overlap."""
    expires = as_utc(subscription.previous_secret_expires_at)
    if subscription.previous_secret and expires is not None and expires > now:
        return [subscription.secret, subscription.previous_secret]
    return [subscription.secret]


class WebhookService:
    """`viewer_app`: the app calling (it sees only its own subscriptions), or None for an admin."""

    def __init__(self, request, viewer_app: int | None):
        self.request = request
        self.session = request.dbsession
        self.viewer_app = viewer_app
        self.settings = request.registry[SETTINGS_KEY]

    # --- subscriptions -----------------------------------------------------------------------------

    def parse_url(self, value: str) -> str:
        url = str(value).strip()
        problem = check_url(url, self.settings.webhook_allow_private_targets)
        if problem:
            raise InvalidInput("url", f"The URL {problem}.")
        return url

    def parse_events(self, names: list[str]) -> list[str]:
        declared = public_events(self.request.registry)
        families = {event.family for event in declared.values()}
        chosen = list(dict.fromkeys(names))
        if not chosen:
            raise InvalidInput("events", "Name at least one event.")
        if len(chosen) > MAX_EVENTS:
            raise InvalidInput("events", f"At most {MAX_EVENTS} events.")
        for name in chosen:
            if name == "*" or name in declared or (name.endswith(".*") and name[:-2] in families):
                continue
            known = ", ".join([*declared, *sorted(f"{family}.*" for family in families)]) or "none"
            raise InvalidInput("events", f"Unknown event {name!r}; known: {known}.")
        return chosen

    def parse_secret(self, value: Any) -> str:
        secret = str(value)
        if not SECRET_MIN <= len(secret) <= SECRET_MAX or not secret.isprintable() or secret != secret.strip():
            raise InvalidInput("secret", f"A secret is {SECRET_MIN} to {SECRET_MAX} printable characters, "
                                         "without spaces around it.")
        return secret

    def _get(self, subscription_id: int) -> WebhookSubscription:
        subscription = self.session.get(WebhookSubscription, subscription_id)
        if subscription is None or (self.viewer_app is not None and subscription.app_id != self.viewer_app):
            raise NotFound("Webhook subscription not found.")
        return subscription

    def _visible(self):
        query = select(WebhookSubscription)
        if self.viewer_app is not None:
            query = query.where(WebhookSubscription.app_id == self.viewer_app)
        return query

    def create(self, fields: Mapping[str, Any]) -> dict:
        secret = self.parse_secret(fields["secret"]) if fields.get("secret") is not None else new_secret()
        now = utcnow()
        subscription = WebhookSubscription(
            url=self.parse_url(fields["url"]), events=self.parse_events(fields["events"]),
            description=parse_text(fields.get("description", ""), "description", 1000, required=False),
            secret=secret, is_active=bool(fields.get("is_active", True)), consecutive_failures=0,
            app_id=self.viewer_app, created_at=now, updated_at=now)
        self.session.add(subscription)
        self.session.flush()
        forget_active_subscriptions(self.request)
        self.request.audit(WEBHOOK_CREATED, WEBHOOK_OBJECT, subscription.id, before=None,
                           after=audited_subscription(subscription))
        return subscription_body(subscription, secret)

    def get(self, subscription_id: int) -> dict:
        return subscription_body(self._get(subscription_id))

    def list(self, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, base_url: str = "",
             params: Mapping[str, Any] | None = None) -> dict:
        found = fetch_page(self.session, self._visible().order_by(WebhookSubscription.id.desc()), page, page_size)
        return page_body(found, [subscription_body(row) for row in found.rows], base_url, params or {})

    def update(self, subscription_id: int, changes: Mapping[str, Any]) -> dict:
        subscription = self._get(subscription_id)
        before = audited_subscription(subscription)
        if "url" in changes:
            subscription.url = self.parse_url(changes["url"])
        if "events" in changes:
            subscription.events = self.parse_events(changes["events"])
        if "description" in changes:
            subscription.description = parse_text(changes["description"], "description", 1000, required=False)
        if "is_active" in changes:
            active = bool(changes["is_active"])
            if active and not subscription.is_active:
                # Enabled again by a person: the failures that disabled it are forgiven.
                subscription.consecutive_failures, subscription.disabled_reason = 0, None
            subscription.is_active = active
        subscription.updated_at = utcnow()
        self.session.flush()
        if audited_subscription(subscription) != before:
            self.request.audit(WEBHOOK_UPDATED, WEBHOOK_OBJECT, subscription.id, before=before,
                               after=audited_subscription(subscription))
        return subscription_body(subscription)

    def rotate_secret(self, subscription_id: int, fields: Mapping[str, Any]) -> dict:
        subscription = self._get(subscription_id)
        overlap = fields.get("overlap_seconds", self.settings.webhook_secret_overlap)
        if not 0 <= overlap <= MAX_OVERLAP:
            raise InvalidInput("overlap_seconds", f"Must be between 0 and {MAX_OVERLAP}.")
        secret = self.parse_secret(fields["secret"]) if fields.get("secret") is not None else new_secret()
        if secret == subscription.secret:
            raise InvalidInput("secret", "The new secret must differ from the current one.")
        now = utcnow()
        before = {"previous_secret_expires_at": as_utc(subscription.previous_secret_expires_at)}
        subscription.previous_secret = subscription.secret if overlap > 0 else None
        subscription.previous_secret_expires_at = now + datetime.timedelta(seconds=overlap) if overlap > 0 else None
        subscription.secret, subscription.updated_at = secret, now
        self.session.flush()
        self.request.audit(WEBHOOK_SECRET_ROTATED, WEBHOOK_OBJECT, subscription.id, before=before,
                           after={"previous_secret_expires_at": subscription.previous_secret_expires_at})
        return subscription_body(subscription, secret)

    def delete(self, subscription_id: int) -> None:
        """The subscription and its delivery log go; deliveries still waiting are not sent."""
        subscription = self._get(subscription_id)
        self.request.audit(WEBHOOK_DELETED, WEBHOOK_OBJECT, subscription.id, before=audited_subscription(subscription),
                           after=None)
        self.session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id))
        self.session.delete(subscription)
        self.session.flush()

    # --- the delivery log --------------------------------------------------------------------------

    def deliveries(self, subscription_id: int, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE,
                   status: str | None = None, base_url: str = "", params: Mapping[str, Any] | None = None) -> dict:
        subscription = self._get(subscription_id)
        query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        found = fetch_page(self.session, query, page, page_size)
        return page_body(found, [delivery_body(row) for row in found.rows], base_url, params or {})

    def redeliver(self, delivery_id: uuid.UUID) -> dict:
        """A fresh series of tries for a finished delivery, with the same delivery id and body."""
        delivery = self.session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or (self.viewer_app is not None and delivery.subscription.app_id != self.viewer_app):
            raise NotFound("Webhook delivery not found.")
        if delivery.status == PENDING:
            raise Conflict("This delivery is still being tried; its next try is at next_attempt_at.")
        if not delivery.subscription.is_active:
            raise Conflict("The subscription is disabled; enable it first (PATCH is_active).")
        before = {"status": delivery.status}
        delivery.status, delivery.next_attempt_at = PENDING, utcnow()
        delivery.job_id = uuid.UUID(self.request.enqueue_job(DELIVERY_JOB, {"delivery": str(delivery.id)}))
        self.session.flush()
        self.request.audit(WEBHOOK_REDELIVERED, DELIVERY_OBJECT, delivery.id, before=before,
                           after={"status": PENDING, "subscription": delivery.subscription_id, "event": delivery.event})
        return delivery_body(delivery)


def enqueue_deliveries(request, event: ShopEvent) -> None:
    """In the emitting transaction: one delivery (row and outbox job) per active subscription to the event."""
    public = public_event_for(request.registry, event)
    if public is None:
        return
    if _ACTIVE not in request.environ:
        request.environ[_ACTIVE] = [
            (row.id, list(row.events)) for row in request.dbsession.execute(
                select(WebhookSubscription.id, WebhookSubscription.events)
                .where(WebhookSubscription.is_active.is_(True))).all()]
    targets = [subscription_id for subscription_id, patterns in request.environ[_ACTIVE]
               if event_matches(patterns, public.name)]
    if not targets:
        return
    now = utcnow()
    event_id = uuid.uuid4()
    body = json.dumps({"id": str(event_id), "event": public.name,
                       "created_at": now.isoformat().replace("+00:00", "Z"),
                       "data": jsonable(public.payload(request, event))}, separators=(",", ":"), ensure_ascii=False)
    subject = getattr(event, "user_id", None)  # the customer an order's (or a return's) event is about
    for subscription_id in targets:
        delivery = WebhookDelivery(id=uuid.uuid4(), subscription_id=subscription_id, event=public.name,
                                   event_id=event_id, body=body, status=PENDING, attempts=0, created_at=now,
                                   next_attempt_at=now, subject_user_id=subject if isinstance(subject, int) else None)
        request.dbsession.add(delivery)
        request.dbsession.flush()
        delivery.job_id = uuid.UUID(request.enqueue_job(DELIVERY_JOB, {"delivery": str(delivery.id)}))


def forget_active_subscriptions(request) -> None:
    request.environ.pop(_ACTIVE, None)


def purge_delivery_log(registry) -> int:
    """Periodic: finished deliveries older than `delivery_log_days` go."""
    cutoff = utcnow() - datetime.timedelta(days=registry[SETTINGS_KEY].delivery_log_days)
    with registry["shopcore.dbsession_factory"]() as session, session.begin():
        result = session.execute(delete(WebhookDelivery).where(
            WebhookDelivery.status.in_((SUCCEEDED, FAILED, CANCELLED)), WebhookDelivery.created_at < cutoff))
    return result.rowcount or 0
