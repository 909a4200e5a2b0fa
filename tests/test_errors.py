"""Every error is JSON of one shape, for every status the API can answer with."""
from pathlib import Path

import pytest
import webtest
from pyramid.security import NO_PERMISSION_REQUIRED

from shopcore.errors import Forbidden
from shopcore.testing import AuthenticatedApp, make_test_configurator

FRAGMENT = str(Path(__file__).with_name("errors_fixture") / "openapi.yaml")


def echo(request):
    return dict(request.openapi_validated.body)


def boom(request):
    raise RuntimeError("secret internals: password=hunter2 SELECT * FROM core_users")


def items(request):
    query = request.openapi_validated.parameters.query
    answer = {"query": dict(query), "mode": request.openapi_validated.parameters.header.get("X-Shop-Mode")}
    query["page"] = 999  # a careless view must not change what the next request is given
    return answer


def flaky(request):
    """Fails its first attempt the way PostgreSQL reports a serialization failure."""
    import psycopg.errors
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    request.dbsession.execute(text("SELECT 1"))  # joins the transaction, as any real view would
    attempts = request.registry.setdefault("test.flaky_attempts", [])
    attempts.append(request.environ.get("REQUEST_METHOD"))
    if len(attempts) == 1:
        raise OperationalError("UPDATE ...", {}, psycopg.errors.SerializationFailure("could not serialize access"))
    return {"attempts": len(attempts)}


def forbidden(request):
    raise Forbidden("Only the order's owner may do this.")


def include_test_routes(config):
    config.add_openapi_fragment(FRAGMENT)
    config.add_route("test_echo", "/test/echo/")
    config.add_route("test_boom", "/test/boom/")
    config.add_route("test_secret", "/test/secret/")
    config.add_view(echo, route_name="test_echo", request_method="POST", renderer="json", openapi=True,
                    permission=NO_PERMISSION_REQUIRED)
    config.add_view(boom, route_name="test_boom", request_method="GET", renderer="json", openapi=True,
                    permission=NO_PERMISSION_REQUIRED)
    config.add_route("test_flaky", "/test/flaky/")
    config.add_view(flaky, route_name="test_flaky", request_method="GET", renderer="json", openapi=True,
                    permission=NO_PERMISSION_REQUIRED)
    config.add_route("test_items", "/test/items/")
    config.add_view(items, route_name="test_items", request_method="GET", renderer="json", openapi=True,
                    permission=NO_PERMISSION_REQUIRED)
    config.add_view(lambda request: {"ok": True}, route_name="test_secret", request_method="GET",
                    renderer="json", openapi=True, permission="test.secret")
    config.add_route("test_forbidden", "/test/forbidden/")
    config.add_view(forbidden, route_name="test_forbidden", request_method="GET", renderer="json", openapi=True,
                    permission=NO_PERMISSION_REQUIRED)


@pytest.fixture(scope="module")
def errors_wsgi_app(shopcore_settings, shopcore_config):
    registry = shopcore_config.registry
    config = make_test_configurator(
        shopcore_settings, extra_includes=(include_test_routes,),
        **{"shopcore.engine": registry["shopcore.engine"],
           "shopcore.dbsession_factory": registry["shopcore.dbsession_factory"]})
    return config.make_wsgi_app()


@pytest.fixture
def app(errors_wsgi_app, db_connection):
    return webtest.TestApp(errors_wsgi_app)


def assert_error_shape(response, status):
    assert response.status_int == status
    assert response.content_type == "application/json"
    body = response.json
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"detail", "errors"}
    for error in body.get("errors", []):
        assert set(error) == {"field", "message"}
    assert response.headers["X-Request-ID"]
    return body


def test_valid_request_passes(app):
    assert app.post_json("/test/echo/", {"name": "ok", "count": 2}).json == {"name": "ok", "count": 2}


def test_malformed_json_is_a_400_naming_the_body(app):
    response = app.post("/test/echo/", "{not json", content_type="application/json", status=400)
    body = assert_error_shape(response, 400)
    assert body["errors"] == [{"field": "body", "message": "Malformed JSON."}]


def test_non_json_body_is_a_415(app):
    response = app.post("/test/echo/", "name=x", content_type="application/x-www-form-urlencoded", status=415)
    assert "application/json" in assert_error_shape(response, 415)["detail"]


def test_field_errors_name_each_field(app):
    response = app.post_json("/test/echo/", {"name": "far too long", "count": -1, "is_admin": True}, status=400)
    body = assert_error_shape(response, 400)
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"name", "count", "is_admin"}
    assert {"field": "is_admin", "message": "Unknown field."} in body["errors"]


def test_missing_required_field_is_named(app):
    body = assert_error_shape(app.post_json("/test/echo/", {"count": 1}, status=400), 400)
    assert body["errors"] == [{"field": "name", "message": "This field is required."}]


def test_wrong_type_is_named(app):
    body = assert_error_shape(app.post_json("/test/echo/", {"name": "a", "count": "many"}, status=400), 400)
    assert [e["field"] for e in body["errors"]] == ["count"]


def test_unknown_route_is_a_json_404(app):
    assert_error_shape(app.get("/no/such/thing", status=404), 404)


def test_wrong_method_is_a_405_with_allow(app):
    response = app.delete("/test/echo/", status=405)
    assert_error_shape(response, 405)
    assert response.headers["Allow"] == "POST"


def test_anonymous_on_protected_route_is_a_401(app):
    response = app.get("/test/secret/", status=401)
    assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_garbage_token_is_a_401(app):
    assert_error_shape(app.get("/test/secret/", headers={"Authorization": "Bearer not.a.token"}, status=401), 401)


def test_customer_without_permission_is_a_403(app, customer, token_for):
    client = AuthenticatedApp(app, token_for(customer)["access"], customer)
    assert_error_shape(client.get("/test/secret/", status=403), 403)


def test_admin_holds_every_permission(app, admin, token_for):
    client = AuthenticatedApp(app, token_for(admin)["access"], admin)
    assert client.get("/test/secret/").json == {"ok": True}


def test_unexpected_exception_is_a_500_that_reveals_nothing(app, caplog):
    response = app.get("/test/boom/", headers={"X-Request-ID": "trace-me-123"}, status=500)
    body = assert_error_shape(response, 500)
    assert response.headers["X-Request-ID"] == "trace-me-123"
    assert "trace-me-123" in body["detail"]
    for secret in ("hunter2", "SELECT", "RuntimeError", "Traceback"):
        assert secret not in response.text
    assert any("trace-me-123" in record.getMessage() for record in caplog.records)


def test_unsafe_request_id_is_replaced(app):
    response = app.get("/health", headers={"X-Request-ID": "bad id\r\nwith spaces"})
    assert response.headers["X-Request-ID"] != "bad id\r\nwith spaces"
    assert len(response.headers["X-Request-ID"]) == 32


def test_body_over_the_limit_is_a_413(app, shopcore_settings):
    limit = 1024 * 1024
    response = app.post("/test/echo/", b"x" * (limit + 1), content_type="application/json", status=413)
    assert_error_shape(response, 413)


def test_security_headers_on_every_response(app):
    for response in (app.get("/health"), app.get("/nothing", status=404)):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Content-Security-Policy" in response.headers


def test_compiled_validation_names_the_field_and_what_it_allows(app, errors_wsgi_app):
    validation = errors_wsgi_app.registry["shopcore.compiled_validation"]
    assert ("/test/items/", "get") in validation.operations and ("/test/echo/", "post") in validation.operations
    first = app.get("/test/items/?page=0", status=400)
    second = app.get("/test/items/?page=0", status=400)
    assert first.json == second.json == {
        "detail": "Invalid request: page: Ensure this value is greater than or equal to 1.",
        "errors": [{"field": "page", "message": "Ensure this value is greater than or equal to 1."}]}
    assert app.get("/test/items/?page=abc", status=400).json["errors"] == [
        {"field": "page", "message": "A valid integer is required."}]
    assert app.get("/test/items/?page=2").json == {"query": {"page": 2}, "mode": None}
    # The view changed its query dict: the next request is given its own.
    assert app.get("/test/items/?page=2").json == {"query": {"page": 2}, "mode": None}


def test_declared_headers_are_validated(app):
    assert app.get("/test/items/", headers={"X-Shop-Mode": "fast"}).json["mode"] == "fast"
    assert app.get("/test/items/", headers={"X-Shop-Mode": "slow"}).json["mode"] == "slow"
    body = app.get("/test/items/", headers={"X-Shop-Mode": "sideways"}, status=400).json
    assert body["errors"] == [{"field": "X-Shop-Mode", "message": "Must be one of: fast, slow."}]


def test_credentials_are_checked_on_every_request(app, customer, token_for, admin):
    app.get("/test/secret/", status=401)
    client = AuthenticatedApp(app, token_for(admin)["access"], admin)
    assert client.get("/test/secret/").json == {"ok": True}
    app.get("/test/secret/", status=401)
    app.get("/test/secret/", headers={"Authorization": "Basic abc"}, status=401)


def test_cors_is_off_by_default(app):
    response = app.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allows_configured_origins_only(shopcore_settings, shopcore_registry, db_connection):
    settings = {**shopcore_settings, "shopcore.cors.origins": "https://shop.example https://admin.example"}
    config = make_test_configurator(settings, **{
        "shopcore.engine": shopcore_registry["shopcore.engine"],
        "shopcore.dbsession_factory": shopcore_registry["shopcore.dbsession_factory"]})
    cors_app = webtest.TestApp(config.make_wsgi_app())
    allowed = cors_app.get("/health", headers={"Origin": "https://shop.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    other = cors_app.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = cors_app.options("/api/plugins/", headers={"Origin": "https://admin.example",
                                                          "Access-Control-Request-Method": "GET"}, status=204)
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_head_is_answered_as_a_get_without_body(app):
    get = app.get("/test/items/?page=2")
    head = app.head("/test/items/?page=2")
    assert head.status_int == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(get.body))
    app.head("/test/items/?page=0", status=400)
    app.head("/nowhere", status=404)


def test_serialization_failure_is_retried_with_a_fresh_transaction(app, errors_wsgi_app):
    errors_wsgi_app.registry["test.flaky_attempts"] = []
    assert app.get("/test/flaky/").json == {"attempts": 2}


def test_a_service_raising_forbidden_is_a_403_of_the_one_shape(app):
    body = assert_error_shape(app.get("/test/forbidden/", status=403), 403)
    assert body == {"detail": "Only the order's owner may do this."}
