"""shopcore plugin `stripe`: Stripe as a payment provider, through the official `stripe` SDK.

It only answers the payments plugin's `payments.providers` extension point, under the name `stripe`
(offer it with `shopcore.payments.providers = stripe`). Settings (`shopcore.stripe.`, from the
environment in production): `secret_key` (`STRIPE_SECRET_KEY`), `webhook_secret`
(`STRIPE_WEBHOOK_SECRET`, the signing secret of the webhook endpoint
`https://<shop>/api/payments/webhooks/stripe/`), `api_base` (`STRIPE_API_BASE`, Stripe's API unless
a local stand-in is used), `capture_method` (`manual`: the card is authorised when the customer
confirms and the shop captures it once it has marked the order paid, or voids it; `automatic`:
Stripe captures at once and the shop refunds a payment it cannot keep) and `timeout`.
Production refuses to start without the two secrets.
"""
from shopcore.plugins import PluginManifest
from shopcore.settings import Setting, SettingsError, parse_choice, parse_str

PREFIX = "shopcore.stripe."


def parse_timeout(value) -> float:
    seconds = float(str(value).strip())
    if not 0 < seconds <= 25:
        # Under the payments point's budget (30 s), so a hung Stripe fails as a timeout first.
        raise ValueError(f"expected seconds between 0 and 25, got {value!r}")
    return seconds


STRIPE_SETTINGS = (
    Setting("shopcore.stripe.secret_key", "", parse_str, ("STRIPE_SECRET_KEY",),
            "Stripe secret API key (sk_live_... or sk_test_...); required in production."),
    Setting("shopcore.stripe.webhook_secret", "", parse_str, ("STRIPE_WEBHOOK_SECRET",),
            "Signing secret (whsec_...) of the webhook endpoint /api/payments/webhooks/stripe/; required in production."),
    Setting("shopcore.stripe.api_base", "https://api.stripe.com", parse_str, ("STRIPE_API_BASE",),
            "Base URL of Stripe's API (a local stand-in such as localstripe in tests)."),
    Setting("shopcore.stripe.capture_method", "manual", parse_choice("manual", "automatic"), (),
            "manual: authorise at confirmation, capture once the order is paid; automatic: Stripe captures at once."),
    Setting("shopcore.stripe.timeout", 20, parse_timeout, (),
            "Seconds to wait for Stripe on each call (under the payment point's 30 s budget)."),
)


def includeme(config) -> None:
    import logging

    from shopcore_payments.api import PAYMENT_PROVIDERS

    from shopcore_stripe.provider import StripeProvider, check_currency

    config.add_settings_table(PREFIX, STRIPE_SETTINGS)
    settings = config.get_settings()
    missing = [key for key in ("secret_key", "webhook_secret") if not settings[PREFIX + key]]
    if missing:
        names = ", ".join(f"{PREFIX}{key}" for key in missing)
        if settings["shopcore.env"] == "production":
            raise SettingsError(f"setting {names}: required in production (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET)")
        logging.getLogger(__name__).warning("stripe: %s not set; Stripe payments and webhooks will be refused", names)
    check_currency(settings["shopcore.payments.currency"])
    config.add_extension(PAYMENT_PROVIDERS, StripeProvider(
        secret_key=settings[PREFIX + "secret_key"], webhook_secret=settings[PREFIX + "webhook_secret"],
        api_base=settings[PREFIX + "api_base"], capture_method=settings[PREFIX + "capture_method"],
        timeout=settings[PREFIX + "timeout"]), key="stripe")


plugin = PluginManifest(name="stripe", api="2.1", requires=("payments",), includeme=includeme,
                        description="Stripe as a payment provider")
