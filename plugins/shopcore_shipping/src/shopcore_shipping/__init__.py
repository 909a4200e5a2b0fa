"""shopcore plugin `shipping`: shipping zones and methods, priced for each cart through the cart's
`cart.shipping_quote` extension point.

Written only against the plugin contract (docs/plugins.md): its own tables (`shipping_*`) and
migrations, its OpenAPI fragment, the cart's point (`shopcore_cart.api.SHIPPING_QUOTE`), the catalog's
service (a product must exist to get a weight) and its extensible product body (`shipping_weight_grams`).
Product weights are kept here, by product id, since only shipping needs them. Admin endpoints under
`/api/shipping/` need the `shipping.manage` permission (admins).
"""
from shopcore.plugins import PluginManifest


def includeme(config) -> None:
    from shopcore_cart.api import SHIPPING_QUOTE

    from shopcore_shipping.services import AUDITED_ACTIONS, PRODUCT_BODY, product_weights, shipping_quote

    config.add_openapi_fragment("shopcore_shipping:openapi.yaml")
    config.add_extension(SHIPPING_QUOTE, shipping_quote)
    config.add_body_extension(PRODUCT_BODY, product_weights)
    for action, doc in AUDITED_ACTIONS.items():
        config.add_audited_action(action, doc=doc)
    config.include("shopcore_shipping.views")


plugin = PluginManifest(name="shipping", api="2.0", requires=("catalog", "cart"), includeme=includeme,
                        migrations="shopcore_shipping:migrations",
                        description="Shipping zones and methods: flat, free above a subtotal, by weight")
