"""The apps plugin's domain events (emitted in the transaction that makes the change)."""
from __future__ import annotations

from dataclasses import dataclass

from shopcore.events import ShopEvent

__all__ = ["WebhookSubscriptionDisabled"]


@dataclass(frozen=True)
class WebhookSubscriptionDisabled(ShopEvent):
    """A subscription was disabled after `failures` deliveries in a row failed for good; the notifications
    plugin mails the shop's admins."""

    subscription_id: int
    url: str
    failures: int
    last_error: str
