"""Events: base classes, in-transaction notification and after-commit dispatch with per-subscriber isolation.

Two kinds of event, as in Kinto:
- `TransactionEvent` subclasses are notified at once, inside the request's transaction; a subscriber
  that raises fails the request and everything rolls back.
- `AfterCommitEvent` subclasses are queued and notified only if the transaction commits. A subscriber
  that raises there is logged with its plugin's name and does not affect the response or the other
  subscribers: the data is already committed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from zope.interface import providedBy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransactionEvent:
    """Notified inside the transaction."""


@dataclass(frozen=True)
class AfterCommitEvent:
    """Notified after a successful commit."""


def subscriber_owner(subscriber) -> str:
    module = getattr(subscriber, "__module__", "") or ""
    return module.split(".")[0] or repr(subscriber)


def notify_isolated(registry, event) -> None:
    """Call every subscriber of `event`; a failing one is logged and the rest still run."""
    for subscriber in registry.adapters.subscriptions([providedBy(event)], None):
        try:
            subscriber(event)
        except Exception:
            log.exception(
                "after-commit subscriber %s of plugin %s failed on %s",
                getattr(subscriber, "__qualname__", subscriber), subscriber_owner(subscriber),
                type(event).__name__,
            )


def notify(request, event) -> None:
    """Publish an event from a service: now for TransactionEvent, after commit for AfterCommitEvent."""
    if isinstance(event, AfterCommitEvent):
        registry = request.registry

        def fire(success: bool) -> None:
            if success:
                notify_isolated(registry, event)

        request.tm.get().addAfterCommitHook(fire)
    else:
        request.registry.notify(event)


def includeme(config) -> None:
    config.add_request_method(notify, "notify")
