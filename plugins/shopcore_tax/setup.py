from setuptools import find_packages, setup

setup(
    name="shopcore-tax",
    version="0.1.0",
    description="shopcore plugin: tax classes, rates per country and region, tax lines per order line and shipping",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_tax": ["*.yaml", "migrations/*.py"]},
    install_requires=["shopcore", "shopcore-catalog", "shopcore-cart"],
    entry_points={"shopcore.plugins": ["tax = shopcore_tax:plugin"]},
)
