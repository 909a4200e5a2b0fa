from setuptools import find_packages, setup

setup(
    name="shopcore-notifications",
    version="0.1.0",
    description="shopcore plugin: Mail for account and order events",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_notifications": ["*.yaml", "templates/*"]},
    install_requires=["shopcore"],
    entry_points={"shopcore.plugins": ["notifications = shopcore_notifications:plugin"],
                  # Its test kit (fixtures for suites that enable it), loaded by pytest.
                  "pytest11": ["shopcore_notifications = shopcore_notifications.testing"]},
)
