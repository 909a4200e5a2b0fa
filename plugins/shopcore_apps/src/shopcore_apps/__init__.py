"""shopcore plugin `apps`: apps with scoped API keys, and signed, retried webhooks with a delivery log.

An app is an outside system (an ERP, a warehouse, a marketing tool) calling the API with its own key,
`Authorization: Bearer shk_...`, limited to the scopes an admin gave it (`shopcore.scopes`). A
webhook subscription (an admin's or an app's) receives the shop's public events
(`shopcore.public_events`) as signed JSON POSTs, sent by the worker from the outbox on a queue of
their own, retried for hours, logged, and redeliverable.

Why one plugin, not two: a subscription may belong to an app (only that app sees it, and it goes when
the app is deleted), so the two share a table relation that would otherwise cross plugins.
"""
from __future__ import annotations

from shopcore.events import ShopEvent
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    from shopcore.accounts.personal_data import ERASURE_POINT as PERSONAL_DATA_ERASURE
    from shopcore.accounts.personal_data import EXPORT_POINT as PERSONAL_DATA_EXPORT
    from shopcore_apps.delivery import SENDER, deliver_webhook
    from shopcore_apps.keys import KEY_PREFIX, authenticate_app_key
    from shopcore_apps.services import AUDITED_ACTIONS
    from shopcore_apps.settings import APPS_SETTINGS, PREFIX, SETTINGS_KEY, apps_settings
    from shopcore_apps.targets import WebhookSender
    from shopcore_apps.webhooks import DELIVERY_JOB, enqueue_deliveries, purge_delivery_log

    config.add_settings_table(PREFIX, APPS_SETTINGS)
    settings = apps_settings(config.get_settings())
    config.registry[SETTINGS_KEY] = settings
    config.registry[SENDER] = WebhookSender(settings.webhook_timeout, settings.webhook_max_response_bytes,
                                            settings.webhook_allow_private_targets)
    config.add_credential_scheme(KEY_PREFIX, authenticate_app_key)
    for action, doc in AUDITED_ACTIONS.items():
        config.add_audited_action(action, doc=doc)
    config.add_openapi_fragment("shopcore_apps:openapi.yaml")
    config.include("shopcore_apps.views")
    # Every domain event passes by; those a plugin declared public become deliveries, in the transaction.
    config.add_event_subscriber(enqueue_deliveries, ShopEvent, after_commit=False)
    config.add_job_handler(DELIVERY_JOB, deliver_webhook, with_request=True, queue="webhooks",
                           retry=settings.retry_policy, concurrency=settings.webhook_concurrency)
    config.add_periodic_task("apps.purge_delivery_log", purge_delivery_log, interval=3600)
    # The delivery log keeps what events about a customer said (an order's addresses).
    config.add_extension(PERSONAL_DATA_EXPORT, "shopcore_apps.personal_data.export_webhook_deliveries")
    config.add_extension(PERSONAL_DATA_ERASURE, "shopcore_apps.personal_data.erase_webhook_deliveries")


plugin = PluginManifest(name="apps", api="2.0", requires=(), includeme=includeme,
                        migrations="shopcore_apps:migrations",
                        description="Apps with scoped API keys, and signed, retried webhooks")
