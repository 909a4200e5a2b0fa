"""The orders plugin's settings table (`shopcore.orders.*`), checked at start-up by `config.add_settings_table`.

- `pending_ttl` (seconds, default 3600): an order still unpaid this long after checkout is cancelled
  and its stock returned. Payment here is one call right after checkout, so an hour is generous for
  a customer and keeps what an unpaid order can hold back from others short (the `hold stock`
  default of common shop software is the same hour).
- `expire_interval` (seconds, default 60): how often `shopcore-worker` looks for such orders.
- `max_pending_quantity` (default 10): units of one product a customer may hold in unpaid orders,
  the new one included.
- `rate.checkout_user` (default `20/hour`, `limits` notation): checkouts a customer may attempt.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Mapping

from shopcore.accounts.settings import parse_rate
from shopcore.settings import Setting, parse_positive_int

PREFIX = "shopcore.orders."
SETTINGS_KEY = "shopcore_orders.settings"


@dataclass(frozen=True)
class OrderSettings:
    pending_ttl: datetime.timedelta
    expire_interval: float
    max_pending_quantity: int
    checkout_rate: str


def parse_positive_number(value: Any) -> float:
    number = float(str(value).strip())
    if not number > 0 or number == float("inf"):
        raise ValueError(f"expected a positive number, got {value!r}")
    return number


ORDERS_SETTINGS = (
    Setting("shopcore.orders.pending_ttl", 3600, parse_positive_number, (),
            "Seconds an order may stay unpaid before the shop cancels it and returns its stock."),
    Setting("shopcore.orders.expire_interval", 60, parse_positive_number, (),
            "Seconds between the worker's passes over unpaid orders."),
    Setting("shopcore.orders.max_pending_quantity", 10, parse_positive_int, (),
            "Units of one product a customer may hold in unpaid orders (409 beyond)."),
    Setting("shopcore.orders.rate.checkout_user", "20/hour", parse_rate, (),
            "Checkouts a customer may attempt (429 once spent)."),
)


def order_settings(settings: Mapping[str, Any]) -> OrderSettings:
    """The table's parsed values (already checked by `add_settings_table`) as one object."""
    return OrderSettings(pending_ttl=datetime.timedelta(seconds=settings["shopcore.orders.pending_ttl"]),
                         expire_interval=settings["shopcore.orders.expire_interval"],
                         max_pending_quantity=settings["shopcore.orders.max_pending_quantity"],
                         checkout_rate=settings["shopcore.orders.rate.checkout_user"])
