from setuptools import find_packages, setup

setup(
    name="shopcore-cart",
    version="0.1.0",
    description="shopcore plugin: A customer's cart",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_cart": ["*.yaml", "migrations/*.py", "templates/*"]},
    install_requires=["shopcore"],
    entry_points={"shopcore.plugins": ["cart = shopcore_cart:plugin"]},
)
