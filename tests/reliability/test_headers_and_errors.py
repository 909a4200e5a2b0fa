"""Security headers and no CORS on the answer of every operation of the merged spec, called as an admin
with real objects and valid bodies, from a foreign origin, and on its CORS preflight.

The fuzzing checks the same headers on each of its answers; `test_pages_cors_and_errors.py` covers
configured origins, error paths, the documentation pages and error bodies.
"""
from __future__ import annotations

import json

import pytest

API_CSP = "default-src 'none'; frame-ancestors 'none'"
EVIL = "https://evil.example"
SHOP = "https://shop.example"
DOCS_PAGES = ("/swagger/", "/redoc/")
PLAIN_PAGES = ("/swagger.json", "/openapi.yaml", "/health", "/ready", "/metrics")


def assert_secure_headers(response, what: str, csp: str | None = API_CSP) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("Referrer-Policy") == "no-referrer", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("X-Request-ID"), what
    if csp is not None:
        assert headers.get("Content-Security-Policy") == csp, (what, headers.get("Content-Security-Policy"))


def assert_no_cors(response, what: str) -> None:
    assert not [name for name in response.headers if name.lower().startswith("access-control-")], (
        what, dict(response.headers))


@pytest.fixture(scope="module")
def admin_and_objects(module_shop, fill):
    admin = module_shop.user("headeradmin", is_admin=True)
    return admin, fill(module_shop, admin)


def call(client, operation, objects, examples, resource, **kwargs):
    url = operation.url(id=objects.ids[resource(operation.path)][0]) if operation.path_parameters else operation.path
    return client.request(operation.method, url, examples.body(operation.operation_id), **kwargs)


def test_every_operation_answers_with_security_headers_and_no_cors(operation, admin_and_objects, module_savepoint,
                                                                   examples, resource):
    admin, objects = admin_and_objects
    response = call(admin.client, operation, objects, examples, resource, headers={"Origin": EVIL})
    assert response.status_int < 500, (operation, response.text)
    assert_secure_headers(response, str(operation))
    assert_no_cors(response, str(operation))
    preflight = admin.client.app.options(operation.url(id=1), headers={
        "Origin": EVIL, "Access-Control-Request-Method": operation.method,
        "Access-Control-Request-Headers": "Authorization, Content-Type"}, expect_errors=True)
    assert preflight.status_int >= 400, (operation, preflight.status_int)
    assert_secure_headers(preflight, f"preflight {operation}")
    assert_no_cors(preflight, f"preflight {operation}")
