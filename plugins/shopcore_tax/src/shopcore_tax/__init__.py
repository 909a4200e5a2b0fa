"""shopcore plugin `tax`: tax classes and rates per country and region, computed for each cart through the
cart's `cart.tax_quote` extension point (the rule is in `shopcore_tax.services` and docs/checkout.md).

Written only against the plugin contract (docs/plugins.md): its own tables (`tax_*`) and migrations, its
OpenAPI fragment, the cart's point (`shopcore_cart.api.TAX_QUOTE`), the catalog's service and its
extensible product body (`tax_class`). Each product's class is kept here, by product id. Admin endpoints
under `/api/tax/` need the `tax.manage` permission (admins).

Settings (`shopcore.tax.`): `prices_include_tax` (false: catalog and shipping prices are entered without
tax, which is added; true: with tax, which is shown as included), `default_country` (the country whose
rates apply to an order with a free-text address; empty: such an order is refused with a 400 asking for
an address with a country), `shipping_class` (the class shipping and fees are taxed by, `standard`).
What happens when tax cannot be computed is the cart's setting `shopcore.cart.tax_failure`.
"""
from shopcore.plugins import PluginManifest
from shopcore.settings import Setting, parse_bool


def parse_country_setting(value) -> str:
    """An ISO 3166-1 alpha-2 code, or empty for none."""
    import pycountry

    code = str(value or "").strip().upper()
    if code and (len(code) != 2 or pycountry.countries.get(alpha_2=code) is None):
        raise ValueError(f"expected an ISO 3166-1 alpha-2 country code or nothing, got {value!r}")
    return code


def parse_class_code(value) -> str:
    from shopcore_tax.services import CODE_PATTERN

    code = str(value).strip()
    if not CODE_PATTERN.match(code):
        raise ValueError(f"expected a tax class code (lower-case letters, digits, '-', '_'), got {value!r}")
    return code


TAX_SETTINGS = (
    Setting("shopcore.tax.prices_include_tax", False, parse_bool, (),
            "Whether catalog and shipping prices are entered with tax inside (else tax is added on top)."),
    Setting("shopcore.tax.default_country", "", parse_country_setting, (),
            "Country whose rates tax an order with a free-text address; empty refuses such an order (400)."),
    Setting("shopcore.tax.shipping_class", "standard", parse_class_code, (),
            "Tax class code that shipping and fees are taxed by."),
)


def includeme(config) -> None:
    from shopcore_cart.api import TAX_QUOTE

    from shopcore_tax.services import (AUDITED_ACTIONS, PRODUCT_BODY, SETTINGS_KEY, TaxSettings, product_tax_classes,
                                       tax_quote)

    config.add_settings_table("shopcore.tax.", TAX_SETTINGS)
    settings = config.get_settings()
    config.registry[SETTINGS_KEY] = TaxSettings(prices_include_tax=settings["shopcore.tax.prices_include_tax"],
                                                default_country=settings["shopcore.tax.default_country"],
                                                shipping_class=settings["shopcore.tax.shipping_class"])
    config.add_openapi_fragment("shopcore_tax:openapi.yaml")
    config.add_extension(TAX_QUOTE, tax_quote)
    config.add_body_extension(PRODUCT_BODY, product_tax_classes)
    for action, doc in AUDITED_ACTIONS.items():
        config.add_audited_action(action, doc=doc)
    config.include("shopcore_tax.views")


plugin = PluginManifest(name="tax", api="2.0", requires=("catalog", "cart"), includeme=includeme,
                        migrations="shopcore_tax:migrations",
                        description="Tax classes and rates per country and region, tax lines per line and shipping")
