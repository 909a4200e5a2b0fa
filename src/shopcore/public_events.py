"""Public events: the domain events a plugin publishes to the outside world (webhooks), with their payload.

Domain events (`shopcore.events`) are Python objects between plugins; a public event is the JSON a
receiver outside the shop gets. The plugin that owns an event decides whether it is public and what
its payload says, in its `includeme`:

    config.add_public_event("order.paid", OrderPaid, order_payload,
                            description="An order was paid.")

`payload(request, event) -> dict` runs inside the emitting transaction (so it can read what the change
wrote) and must return JSON types only (decimal strings for money, ISO dates: `jsonable(value)` turns Decimals,
moments, UUIDs, dataclasses and sets into them). Names are
`<family>.<what>` in lower case; a family (`order.*`) is what a subscriber may ask for as a whole.
An event class has one public name; a subclass without its own (`OrderExpired`, an `OrderCancelled`)
is published under its nearest declared base. A name declared twice stops start-up naming both plugins.

Whoever delivers public events (the apps plugin's webhooks) finds them with `public_event_for` and
lists them with `public_events`; nothing is published while no such plugin is enabled.
"""
from __future__ import annotations

import dataclasses
import datetime
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from pyramid.exceptions import ConfigurationError

from shopcore.clock import as_utc
from shopcore.events import ShopEvent
from shopcore.plugins import current_owner

PUBLIC_EVENTS = "shopcore.public_events"  # registry: {name: PublicEvent}
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")


@dataclass(frozen=True)
class PublicEvent:
    name: str
    event_type: type
    payload: Callable
    description: str
    owner: str  # allow-list name of the plugin that declared it ("" for the core)

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]


def add_public_event(config, name: str, event_type: type, payload: Callable, description: str = "") -> None:
    """Publish `event_type` to the outside world as `name`, its JSON made by `payload(request, event)`."""
    payload = config.maybe_dotted(payload)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ConfigurationError(f"public event name must be <family>.<what> in lower case, got {name!r}")
    if not (isinstance(event_type, type) and issubclass(event_type, ShopEvent)):
        raise ConfigurationError(f"public event {name}: {event_type!r} is not a ShopEvent subclass")
    if not callable(payload):
        raise ConfigurationError(f"public event {name}: payload {payload!r} is not callable")
    declared = PublicEvent(name, event_type, payload, description.strip(), current_owner(config))

    def register():
        events = config.registry.setdefault(PUBLIC_EVENTS, {})
        for other in events.values():
            if other.event_type is event_type:
                raise ConfigurationError(f"{event_type.__name__} is already public as {other.name}; "
                                         f"it cannot also be {name}")
        events[name] = declared

    # One name, one declaration: a second claim (another plugin's) is a clash naming both.
    config.action(("shopcore.public_event", name), register)


def public_events(registry) -> dict[str, PublicEvent]:
    return dict(sorted(registry.get(PUBLIC_EVENTS, {}).items()))


def public_event_for(registry, event: ShopEvent) -> PublicEvent | None:
    """The public event `event` is published as: its class's own declaration, else its nearest base's."""
    by_type = {declared.event_type: declared for declared in registry.get(PUBLIC_EVENTS, {}).values()}
    for klass in type(event).__mro__:
        if klass in by_type:
            return by_type[klass]
    return None


def includeme(config) -> None:
    config.add_directive("add_public_event", add_public_event)


def jsonable(value: Any) -> Any:
    """`value` in JSON types, as payloads must be: Decimal and UUID as strings, moments in ISO 8601 UTC,
    dataclasses, tuples, sets and frozensets (sorted) as objects and lists."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, datetime.datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not JSON")
