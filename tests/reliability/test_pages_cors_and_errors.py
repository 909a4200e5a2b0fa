"""CORS for configured origins only, security headers on error paths and documentation pages, and error
bodies that never name internals (also when a plugin's code breaks inside an operation).

`tests/test_errors.py` proves the error shape for each status on a test route of its own.
"""
from __future__ import annotations

import json

EVIL = "https://evil.example"
SHOP = "https://shop.example"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
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


def test_configured_origins_and_only_they_get_cors_on_every_operation(make_app, shop, collected_operations,
                                                                      examples, fill, resource):
    app = make_app(**{"shopcore.cors.origins": SHOP})
    admin = shop.user("corsadmin", is_admin=True)
    objects = fill(shop, admin)
    for operation in collected_operations:
        url = operation.url(id=objects.ids[resource(operation.path)][0]) if operation.path_parameters else operation.path
        body = examples.body(operation.operation_id)
        for origin, allowed in ((SHOP, True), (EVIL, False)):
            kwargs = {"headers": {**admin.bearer, "Origin": origin}, "expect_errors": True}
            if body is not None:
                kwargs.update(body=json.dumps(body).encode(), content_type="application/json")
            response = app.request(url, method=operation.method, **kwargs)
            if allowed:
                assert response.headers.get("Access-Control-Allow-Origin") == SHOP, operation
                assert "Origin" in response.headers.get("Vary", ""), operation
            else:
                assert_no_cors(response, f"{operation} from {origin}")


def test_error_paths_and_pages_carry_the_headers(shop):
    admin = shop.user("pagesadmin", is_admin=True)
    client = shop.anonymous
    errors = {
        "unknown route": client.request("GET", "/no/such/thing"),
        "wrong method": client.request("PUT", "/health"),
        "no token": client.request("GET", "/api/auth/user/"),
        "bad input": client.request("POST", "/api/auth/login/", {"username": ""}),
        "too large": client.request("POST", "/api/auth/login/", b"x" * (1024 * 1024 + 1)),
        "wrong media type": client.request("POST", "/api/auth/login/", b"username=x",
                                           content_type="application/x-www-form-urlencoded"),
        "bad query string": client.request("GET", "/api/products/?search=%ff"),
    }
    expected = {"unknown route": 404, "wrong method": 405, "no token": 401, "bad input": 400, "too large": 413,
                "wrong media type": 415, "bad query string": 400}
    for label, response in errors.items():
        assert response.status_int == expected[label], (label, response.status_int)
        assert response.content_type == "application/json", label
        assert set(response.json) <= {"detail", "errors"}, label
        assert_secure_headers(response, label)
    for page in DOCS_PAGES:
        response = client.request("GET", page)
        assert response.status_int == 200, page
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "http" not in csp, (page, csp)
        assert_secure_headers(response, page, csp=None)
    for page in PLAIN_PAGES:
        response = admin.client.request("GET", page)
        assert response.status_int == 200, (page, response.status_int)
        assert_secure_headers(response, page)


SECRETS_IN_THE_FAILURE = "SELECT password_hash FROM core_users WHERE username='admin' -- hunter2"


def test_a_failure_inside_an_operation_names_nothing_internal(customer_app, make_product, register_extension,
                                                              caplog):
    """A plugin's extension breaks with a message full of internals: the client sees a bare 503 (the point blocks)."""

    def broken_adjustments(request, cart):
        raise RuntimeError(SECRETS_IN_THE_FAILURE)

    register_extension("cart.price_adjustments", broken_adjustments)
    customer_app.post_json("/api/cart/items/", {"product": make_product(), "quantity": 1}, expect_errors=True)
    response = customer_app.get("/api/cart/", headers={"X-Request-ID": "trace-this-request"}, status=503)
    assert response.json == {"detail": "Pricing the cart is temporarily unavailable; try again shortly."}
    for leaked in ("SELECT", "password_hash", "hunter2", "RuntimeError", "Traceback", "shopcore_"):
        assert leaked not in response.text
    assert_secure_headers(response, "a 503")
    assert any("trace-this-request" in record.getMessage() for record in caplog.records)
