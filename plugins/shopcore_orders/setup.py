from setuptools import find_packages, setup

setup(
    name="shopcore-orders",
    version="0.1.0",
    description="shopcore plugin: Checkout, payment simulation and cancellation",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_orders": ["*.yaml", "migrations/*.py", "templates/*"]},
    install_requires=["shopcore"],
    entry_points={"shopcore.plugins": ["orders = shopcore_orders:plugin"],
                  # Its test kit (fixtures for suites that enable it), loaded by pytest.
                  "pytest11": ["shopcore_orders = shopcore_orders.testing"]},
)
