from setuptools import find_packages, setup

setup(
    name="shopcore-catalog",
    version="0.1.0",
    description="shopcore plugin: Categories and products",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={"shopcore_catalog": ["*.yaml", "migrations/*.py", "templates/*"]},
    install_requires=["shopcore", "python-slugify>=8", "tqdm>=4.66",
                      # Images: checked and thumbnailed with Pillow, stored on S3-compatible storage with boto3.
                      "Pillow>=10.3", "boto3>=1.34"],
    # The tests' S3 endpoint (moto's server mode, started by the `s3_server` fixture).
    extras_require={"testing": ["moto[server]>=5"]},
    entry_points={"shopcore.plugins": ["catalog = shopcore_catalog:plugin"],
                  # Its test kit (fixtures for suites that enable it), loaded by pytest.
                  "pytest11": ["shopcore_catalog = shopcore_catalog.testing"]},
)
