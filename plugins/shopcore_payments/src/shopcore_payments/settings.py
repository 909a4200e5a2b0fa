"""The payments plugin's settings table (`shopcore.payments.*`), checked at start-up by `config.add_settings_table`.

- `providers` (`SHOPCORE_PAYMENT_PROVIDERS`, default `simulated`): the providers customers may pay
  with, by name. Each must be offered by an enabled plugin (start-up fails naming it otherwise).
  `simulated` takes every payment without money changing hands, as the seed's pay did: a real shop
  names its provider instead (`stripe`), and production logs a warning while `simulated` is offered.
  Webhooks and refunds work for every provider an enabled plugin offers, listed or not, so payments
  made before a provider was taken off the list still settle and refund.
- `currency` (`SHOPCORE_CURRENCY`, default `USD`): the ISO 4217 code of the shop's prices.
- `return_window_days` (default 30): days after delivery during which a customer may ask to return lines.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Mapping

from shopcore.settings import Setting, parse_list, parse_positive_int

PREFIX = "shopcore.payments."
SETTINGS_KEY = "shopcore_payments.settings"


@dataclass(frozen=True)
class PaymentSettings:
    providers: tuple[str, ...]
    currency: str
    return_window: datetime.timedelta


def parse_currency(value: Any) -> str:
    import pycountry

    code = str(value or "").strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"expected an ISO 4217 currency code such as USD or EUR, got {value!r}")
    return code


def parse_providers(value: Any) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(parse_list(value)))
    if not names:
        raise ValueError("expected at least one payment provider, got none")
    return names


PAYMENTS_SETTINGS = (
    Setting("shopcore.payments.providers", "simulated", parse_providers, ("SHOPCORE_PAYMENT_PROVIDERS",),
            "Payment providers customers may pay with (simulated takes payments without money; name yours, e.g. stripe)."),
    Setting("shopcore.payments.currency", "USD", parse_currency, ("SHOPCORE_CURRENCY",),
            "ISO 4217 code of the shop's prices, in which payments are taken."),
    Setting("shopcore.payments.return_window_days", 30, parse_positive_int, (),
            "Days after delivery during which a customer may ask to return lines."),
)


def payment_settings(settings: Mapping[str, Any]) -> PaymentSettings:
    return PaymentSettings(providers=settings["shopcore.payments.providers"],
                           currency=settings["shopcore.payments.currency"],
                           return_window=datetime.timedelta(days=settings["shopcore.payments.return_window_days"]))
