"""shopcore plugin `notifications`: mail for account, order, refund and return events, through the core's job outbox.

Settings (besides the core's `shopcore.mail.*`, `shopcore.shop_name`, `shopcore.base_url`):
- `shopcore.notifications.template_dir`: a folder whose templates replace the shipped ones by name.
- `shopcore.notifications.smtp_timeout`: seconds for each SMTP operation (default 10).
- `shopcore.notifications.smtp_ca_file`: a CA bundle to verify the SMTP server's certificate with.
"""
from __future__ import annotations

import os

from shopcore.messaging import add_job_commands
from shopcore.plugins import PluginManifest
from shopcore.settings import Setting, plugin_settings

from shopcore_notifications.mailers import FileMailer, SmtpMailer
from shopcore_notifications.mails import (ACCOUNT_MAILS, MAIL_KINDS, SECRET_PAYLOAD_KINDS, order_mail, order_mails,
                                          payment_mails, send_mail_job, send_webhook_disabled)
from shopcore_notifications.rendering import MailComposer, template_environment

COMPOSER = "notifications.composer"
MAILER = "notifications.mailer"


def _positive_number(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ValueError(f"expected a positive number, got {value!r}")
    return number


def _existing_path(want_dir: bool):
    def parse(value) -> str:
        value = str(value or "").strip()
        if value and not (os.path.isdir(value) if want_dir else os.path.isfile(value)):
            kind = "folder" if want_dir else "file"
            raise ValueError(f"{kind} {value!r} does not exist")
        return value

    return parse


NOTIFICATIONS_SETTINGS = (
    Setting("shopcore.notifications.template_dir", "", _existing_path(want_dir=True), (),
            "A folder whose mail templates replace the shipped ones by name."),
    Setting("shopcore.notifications.smtp_timeout", 10, _positive_number, (),
            "Seconds for each SMTP operation."),
    Setting("shopcore.notifications.smtp_ca_file", "", _existing_path(want_dir=False), (),
            "A CA bundle to verify the SMTP server's certificate with."),
)


def make_mailer(settings, own: dict):
    if settings["shopcore.mail.backend"] == "file":
        return FileMailer(settings["shopcore.mail.dir"])
    return SmtpMailer(
        host=settings["shopcore.mail.host"], port=settings["shopcore.mail.port"],
        user=settings["shopcore.mail.user"], password=settings["shopcore.mail.password"],
        security=settings["shopcore.mail.security"],
        allow_insecure_login=settings["shopcore.mail.allow_insecure_login"],
        timeout=own["smtp_timeout"],
        ca_file=own["smtp_ca_file"],
    )


def subscribe_order_mails(config) -> None:
    """Mail on the orders plugin's events (its event classes are imported only now)."""
    mails = order_mails()
    for event_type, kind in mails:
        more_specific = tuple(other for other, _kind in mails if other is not event_type and issubclass(other, event_type))
        config.add_event_subscriber(order_mail(kind, more_specific), event_type, after_commit=False)


def subscribe_payment_mails(config) -> None:
    """Mail on the payments plugin's refunds and returns (its event classes are imported only now)."""
    for event_type, subscriber in payment_mails():
        config.add_event_subscriber(subscriber, event_type, after_commit=False)


def includeme(config) -> None:
    config.add_settings_table("shopcore.notifications.", NOTIFICATIONS_SETTINGS)
    settings = config.get_settings()
    own = plugin_settings(settings, "notifications")
    template_dir = own["template_dir"]
    config.registry[COMPOSER] = MailComposer(template_environment(template_dir),
                                             shop_name=settings["shopcore.shop_name"],
                                             sender=settings["shopcore.mail.sender"],
                                             base_url=settings["shopcore.base_url"])
    config.registry[MAILER] = make_mailer(settings, own)

    for kind in MAIL_KINDS:
        config.add_job_handler(kind, send_mail_job, scrub_payload=kind in SECRET_PAYLOAD_KINDS)
    # In the transaction: the outbox row commits or rolls back with what caused the mail.
    for event_type, subscriber in ACCOUNT_MAILS:
        config.add_event_subscriber(subscriber, event_type, after_commit=False)
    if "orders" in settings["shopcore.plugins"]:
        subscribe_order_mails(config)
    if "apps" in settings["shopcore.plugins"]:
        from shopcore_apps.events import WebhookSubscriptionDisabled  # only when the apps plugin is there

        config.add_event_subscriber(send_webhook_disabled, WebhookSubscriptionDisabled, after_commit=False)
    if "payments" in settings["shopcore.plugins"]:
        subscribe_payment_mails(config)
    add_job_commands(config, "mail", kind_prefix="mail.", done_word="sent")

    # No tables of its own: mail waits in the core's outbox (core_outbox, the `messaging` branch).
    config.add_openapi_fragment("shopcore_notifications:openapi.yaml")


plugin = PluginManifest(name="notifications", api="2.0", requires=(), includeme=includeme,
                        description="Mail for account and order events")
