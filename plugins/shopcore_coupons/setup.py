from setuptools import find_packages, setup

setup(
    name="shopcore-coupons",
    version="0.1.0",
    description="shopcore plugin: Coupon codes for discounts on the cart and at checkout",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_coupons": ["*.yaml", "migrations/*.py"]},
    install_requires=["shopcore"],
    entry_points={"shopcore.plugins": ["coupons = shopcore_coupons:plugin"]},
)
