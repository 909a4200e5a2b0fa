"""The real services a test run is given (PostgreSQL, Redis, a broker), and what the run could not test.

A service comes from an environment variable; unset or unreachable, its tests skip loudly (listed at the
end of the run), or fail when SHOPCORE_TEST_REQUIRE_SERVICES=1 (CI).
"""
from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

# What this run did not test, printed in the summary by the plugin's pytest_terminal_summary.
not_tested: list[str] = []


def services_required() -> bool:
    return os.environ.get("SHOPCORE_TEST_REQUIRE_SERVICES", "") == "1"


def testing_postgresql() -> bool:
    return os.environ.get("SHOPCORE_TEST_DATABASE_URL", "").startswith("postgresql")


def service_url(variable: str) -> str | None:
    """The URL of a real service for tests, or None (and a loud note in the summary) when not given."""
    url = os.environ.get(variable, "")
    if not url:
        if services_required():
            pytest.fail(f"{variable} is not set but SHOPCORE_TEST_REQUIRE_SERVICES=1", pytrace=False)
        return None
    parsed = urlparse(url.replace("+psycopg", ""))
    host, port = parsed.hostname or "127.0.0.1", parsed.port
    if port is not None:
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            message = f"{variable}={url} is unreachable: {exc}"
            if services_required():
                pytest.fail(message, pytrace=False)
            not_tested.append(message)
            return None
    return url


def require_service(variable: str) -> str:
    """The service's URL, or the calling test skipped (failed under SHOPCORE_TEST_REQUIRE_SERVICES=1)."""
    url = service_url(variable)
    if url is None:
        not_tested.append(f"{variable} not set")
        pytest.skip(f"needs {variable}")
    return url
