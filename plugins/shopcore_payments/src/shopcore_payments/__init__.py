"""shopcore plugin `payments`: payments through providers, their webhooks, refunds and returns.

- Declares the `payments.providers` extension point (`shopcore_payments.api.PaymentProvider`) and answers
  it itself with the built-in `simulated` provider, which takes payments without money, as the seed's
  pay did. `shopcore_stripe` answers it with Stripe.
- Answers the orders plugin's `orders.pay` point, so `POST /api/orders/{id}/pay/` is the customer's
  confirmation of the order's payment, and subscribes to `OrderCancelled` (in the transaction) to
  release a cancelled order's open payments.
- Adds `returns` and `refunds` to the orders plugin's order body (`orders.order`).
- Publishes `order.refunded` and `return.requested|approved|rejected` to webhooks
  (`shopcore_payments.public_events`).
- Takes part in a customer's personal data export and erasure (`shopcore_payments.personal_data`): the
  records stay for the accounts, their free text (return reasons, notes, refund reasons) goes.
- Its own tables (`payments_*`), its settings (`shopcore_payments.settings`), its events
  (`shopcore_payments.events`, `OrderRefunded` among them) and its service (`PaymentService`).
"""
from shopcore.plugins import PluginManifest

PROVIDERS_DOC = """Taking payments
A payment provider: an object providing `shopcore_payments.api.PaymentProvider` (create, capture, void,
refund, parse_webhook), added with `config.add_extension("payments.providers", provider, key=name)`.
The payments plugin calls one method of the provider a payment names, in the request's transaction.
"""
# A provider calls its service over the network; its own timeouts must stay under this.
PROVIDER_BUDGET = 30.0


def includeme(config) -> None:
    from shopcore.accounts.personal_data import ERASURE_POINT as PERSONAL_DATA_ERASURE
    from shopcore.accounts.personal_data import EXPORT_POINT as PERSONAL_DATA_EXPORT
    from shopcore.extensions import IMPLEMENTATION_ACTION_ORDER
    from shopcore_orders.api import PAY_ORDER, OrderCancelled

    from shopcore_payments.api import PAYMENT_PROVIDERS, PaymentProvider, PaymentService
    from shopcore_payments.public_events import declare_public_events
    from shopcore_payments.refunds import AUDITED_ACTIONS, order_returns_and_refunds
    from shopcore_payments.service import payment_service_factory, release_on_cancellation, take_payment
    from shopcore_payments.services import ORDER_BODY, offered_providers_check
    from shopcore_payments.settings import PAYMENTS_SETTINGS, PREFIX, SETTINGS_KEY, payment_settings
    from shopcore_payments.simulated import SIMULATED, SimulatedProvider

    config.add_settings_table(PREFIX, PAYMENTS_SETTINGS)
    config.registry[SETTINGS_KEY] = payment_settings(config.get_settings())
    config.add_extension_point(PAYMENT_PROVIDERS, doc=PROVIDERS_DOC, interface=PaymentProvider,
                               budget_seconds=PROVIDER_BUDGET, failure="block")
    config.add_extension(PAYMENT_PROVIDERS, SimulatedProvider(), key=SIMULATED)
    # After every provider is registered: the offered ones must exist.
    config.action(("shopcore_payments.offered_providers",), offered_providers_check(config),
                  order=IMPLEMENTATION_ACTION_ORDER + 1)
    config.add_extension(PAY_ORDER, take_payment)
    config.add_event_subscriber(release_on_cancellation, OrderCancelled, after_commit=False)
    config.register_service_factory(payment_service_factory, PaymentService)
    config.add_body_extension(ORDER_BODY, order_returns_and_refunds)
    for action, doc in AUDITED_ACTIONS.items():
        config.add_audited_action(action, doc=doc)
    config.add_extension(PERSONAL_DATA_EXPORT, "shopcore_payments.personal_data.export_payments")
    config.add_extension(PERSONAL_DATA_ERASURE, "shopcore_payments.personal_data.erase_payment_texts")
    config.add_openapi_fragment("shopcore_payments:openapi.yaml")
    declare_public_events(config)
    config.include("shopcore_payments.views")


plugin = PluginManifest(name="payments", api="2.1", requires=("catalog", "orders"), includeme=includeme,
                        migrations="shopcore_payments:migrations",
                        description="Payments through providers, webhooks, refunds and returns")
