from setuptools import find_packages, setup

setup(
    name="shopcore-apps",
    version="0.1.0",
    description="shopcore plugin: apps with scoped API keys, and signed, retried webhooks with a delivery log",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_apps": ["*.yaml", "migrations/*.py"]},
    # httpcore (httpx's transport) sends the deliveries: its network backend is where every connection is
    # checked against private addresses, after DNS and before connecting.
    install_requires=["shopcore", "httpcore>=1.0,<2"],
    entry_points={"shopcore.plugins": ["apps = shopcore_apps:plugin"],
                  # Its test kit (a webhook receiver, app keys), loaded by pytest.
                  "pytest11": ["shopcore_apps = shopcore_apps.testing"]},
)
