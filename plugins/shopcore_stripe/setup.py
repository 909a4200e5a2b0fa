from setuptools import find_packages, setup

setup(
    name="shopcore-stripe",
    version="0.1.0",
    description="shopcore plugin: Stripe as a payment provider (PaymentIntents, webhooks, refunds)",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    install_requires=["shopcore", "shopcore-payments", "stripe>=12,<17"],
    # localstripe: a stateful fake Stripe server the tests (and .ci/run, through make install) run locally.
    extras_require={"testing": ["localstripe>=1.15"]},
    entry_points={"shopcore.plugins": ["stripe = shopcore_stripe:plugin"]},
)
