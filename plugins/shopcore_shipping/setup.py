from setuptools import find_packages, setup

setup(
    name="shopcore-shipping",
    version="0.1.0",
    description="shopcore plugin: shipping zones and methods priced flat, free above a subtotal or by weight",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_shipping": ["*.yaml", "migrations/*.py"]},
    install_requires=["shopcore", "shopcore-catalog", "shopcore-cart"],
    entry_points={"shopcore.plugins": ["shipping = shopcore_shipping:plugin"]},
)
