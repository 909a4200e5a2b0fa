"""Events: plugins tell each other what happened, in the transaction or after it commits.

An event is a frozen dataclass deriving from `ShopEvent`, defined by the plugin that emits it
(`shopcore.accounts.events`, `shopcore_orders.events`, ...). A service emits it with
`request.notify(event)`. A plugin reacts with

    config.add_event_subscriber(handler, OrderPlaced, after_commit=False)  # inside the transaction
    config.add_event_subscriber(handler, OrderPlaced, after_commit=True)   # once it has committed

- In-transaction subscribers run at once, in the emitting request's transaction: what they write
  commits or rolls back with it (an outbox row for a mail), and if one raises the request fails.
- After-commit subscribers run only if the transaction commits. One that raises is logged with its
  plugin's name and changes nothing else: the data is committed and the response stands.

Subscribers are matched by isinstance, so subscribing to a base class receives its subclasses.
`handler(request, event)` gets the emitting request (after commit its transaction is over; use a
new one, e.g. `with request.tm:`, to write).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from pyramid.exceptions import ConfigurationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopEvent:
    """Base of every domain event."""


def subscriber_owner(subscriber) -> str:
    module = getattr(subscriber, "__module__", "") or ""
    return module.split(".")[0] or repr(subscriber)


def add_event_subscriber(config, handler: Callable, event_type: type, after_commit: bool) -> None:
    handler = config.maybe_dotted(handler)
    if not (isinstance(event_type, type) and issubclass(event_type, ShopEvent)):
        raise ConfigurationError(f"{event_type!r} is not a ShopEvent subclass")
    if not callable(handler):
        raise ConfigurationError(f"event subscriber {handler!r} is not callable")

    def register():
        subscribers = config.registry.setdefault("shopcore.event_subscribers", [])
        subscribers.append((event_type, bool(after_commit), handler))

    config.action(("shopcore.event_subscriber", event_type, bool(after_commit), handler), register)


def _subscribers(registry, event: ShopEvent, after_commit: bool) -> list[Callable]:
    return [handler for event_type, phase, handler in registry.get("shopcore.event_subscribers", [])
            if phase == after_commit and isinstance(event, event_type)]


def run_after_commit_subscribers(request, event: ShopEvent) -> None:
    for handler in _subscribers(request.registry, event, after_commit=True):
        try:
            handler(request, event)
        except Exception:
            log.exception("after-commit subscriber %s of plugin %s failed on %s",
                          getattr(handler, "__qualname__", handler), subscriber_owner(handler),
                          type(event).__name__)


def notify(request, event: ShopEvent) -> None:
    """Emit `event`: in-transaction subscribers now, after-commit ones when the transaction commits."""
    if not isinstance(event, ShopEvent):
        raise TypeError(f"{event!r} is not a ShopEvent")
    for handler in _subscribers(request.registry, event, after_commit=False):
        handler(request, event)
    if _subscribers(request.registry, event, after_commit=True):
        def fire(success: bool) -> None:
            if success:
                run_after_commit_subscribers(request, event)

        request.tm.get().addAfterCommitHook(fire)


def includeme(config) -> None:
    config.add_directive("add_event_subscriber", add_event_subscriber)
    config.add_request_method(notify, "notify")
