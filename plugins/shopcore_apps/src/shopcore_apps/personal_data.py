"""The apps plugin's part of a customer's personal data (the core's `accounts.personal_data_*` points).

Apps and subscriptions are the shop's, made by admins; what concerns a customer is the delivery log:
a delivery of an event about them (an order's, a return's: the event's `user_id`) keeps the exact body
sent, the whole order with its addresses. Export: which of their events went where (the receiver's
host, not its URL, which may carry the receiver's own token), when and how it went. Erasure: those
deliveries are deleted, sent or still waiting (a waiting one is not sent: its job finds no delivery);
the receivers keep what they were sent, which is theirs to erase.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import delete, select

from shopcore_apps.models import WebhookDelivery


def export_webhook_deliveries(request, user_id: int) -> dict:
    deliveries = request.dbsession.scalars(select(WebhookDelivery).where(WebhookDelivery.subject_user_id == user_id)
                                           .order_by(WebhookDelivery.created_at, WebhookDelivery.id))
    return {"webhook_deliveries": [
        {"event": delivery.event, "receiver": urlsplit(delivery.subscription.url).hostname,
         "status": delivery.status, "created_at": delivery.created_at, "delivered_at": delivery.delivered_at}
        for delivery in deliveries]}


def erase_webhook_deliveries(request, user_id: int) -> None:
    request.dbsession.execute(delete(WebhookDelivery).where(WebhookDelivery.subject_user_id == user_id)
                              .execution_options(synchronize_session=False))
