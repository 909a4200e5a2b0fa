from setuptools import find_packages, setup

setup(
    name="shopcore-payments",
    version="0.1.0",
    description="shopcore plugin: payments through providers, webhooks, refunds and returns",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_payments": ["*.yaml", "migrations/*.py"]},
    # ISO 4217 currency codes for `shopcore.payments.currency`.
    install_requires=["shopcore", "shopcore-orders", "shopcore-catalog", "pycountry>=23"],
    entry_points={"shopcore.plugins": ["payments = shopcore_payments:plugin"]},
)
