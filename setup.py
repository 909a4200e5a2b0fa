"""shopcore: an e-commerce REST backend, a Pyramid core that loads the shop's features as plugins."""
from setuptools import find_namespace_packages, setup

setup(
    name="shopcore",
    version="0.1.0",
    description="E-commerce REST backend: a Pyramid core with catalog, cart, orders and notifications plugins",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_namespace_packages("src", include=["shopcore*"]),
    include_package_data=True,
    # Every non-Python file the package reads at run time; tests/installed checks the wheel holds them all.
    package_data={"shopcore": ["openapi/*.yaml", "docs/templates/*.html", "docs/static/*", "docs/vendor/redoc/*",
                               "accounts/*.yaml", "accounts/*.txt", "audit/*.yaml", "accounts/templates/*",
                               "migrations/script.py.mako", "migrations/*.py", "migrations/versions/*.py"]},
    install_requires=[
        "pyramid>=2.0,<3",
        "pyramid_tm>=2.5",
        "pyramid_retry>=2.1",
        "pyramid_services>=2.2",
        "pyramid_openapi3>=0.20",
        "openapi-core>=0.19",
        "openapi-spec-validator>=0.7",
        # Request validation compiled at start-up (shopcore.openapi.compiled).
        "jsonschema-rs>=0.29",
        "orjson>=3.9",
        "pyramid_jwt>=1.6",
        "PyJWT>=2.8",
        "SQLAlchemy>=2.0,<3",
        "zope.sqlalchemy>=3.1",
        "transaction>=4",
        "alembic>=1.13",
        "psycopg[binary]>=3.1",
        "dogpile.cache>=1.3",
        "cachetools>=5",
        "redis>=5",
        "kombu>=5.3",
        "argon2-cffi>=23",
        "email-validator>=2",
        "Jinja2>=3.1",
        "limits>=3.10",
        "prometheus-client>=0.20",
        "PyYAML>=6",
        "swagger-ui-bundle>=1.1",
        "waitress>=3",
        "gunicorn>=22",
        "tqdm>=4.66",
        # Unicode confusables data (UTS #39) for refusing look-alike usernames.
        "confusable-homoglyphs>=3.3,<4",
        # The address book: ISO 3166 countries and subdivisions, and phone numbers.
        "pycountry>=24.6",
        "phonenumbers>=8.13",
    ],
    extras_require={
        "testing": ["pytest>=8.3", "WebTest>=3", "aiosmtpd>=1.4", "pytest-timeout>=2.3", "playwright>=1.45",
                    "schemathesis>=4.32,<5",
                    "hypothesis>=6.100",
                    # The catalog's S3 endpoint in tests (its own `testing` extra names it too; `make
                    # install` installs the plugins without extras, so the core's kit brings it).
                    "moto[server]>=5"],
    },
    entry_points={
        "paste.app_factory": ["main = shopcore:main"],
        "console_scripts": [
            "shopcore-admin = shopcore.scripts.admin:main",
            "shopcore-worker = shopcore.scripts.worker:main",
        ],
        "pytest11": ["shopcore = shopcore.testing"],
    },
)
