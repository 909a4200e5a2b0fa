"""The catalog's tests run with the catalog alone: it needs no other plugin."""
import pytest


@pytest.fixture(scope="session")
def shopcore_plugins() -> list[str]:
    return ["catalog"]
