"""No content of any string field of the account endpoints gets a 5xx: it is a 4xx naming the field, or accepted."""
import pytest

HOSTILE = {
    "nul": "ab\x00cd-efghijkl",
    "lone surrogate": "ab\ud800cd-efghijkl",
    "emoji": "\U0001f600" * 60,
    "right-to-left": "\u202eabc-defghijkl",
    "sql": "x' OR '1'='1'; DROP TABLE core_users; --",
    "html": "<script>alert(1)</script>",
    "long": "y" * 5000,
    "blank": "   ",
}

BODIES = {
    "/api/auth/register/": {"username": "newbie", "email": "newbie@example.com", "password": "lantern-orbit-77",
                            "first_name": "New", "last_name": "Bie"},
    "/api/auth/login/": {"username": "john", "password": "lantern-orbit-77"},
    "/api/auth/refresh/": {"refresh": "token"},
    "/api/auth/password/reset/": {"email": "john@example.com"},
    "/api/auth/password/reset/confirm/": {"uid": "<from the mail>", "token": "<from the mail>",
                                          "new_password": "lantern-orbit-88"},
}
# A uid that passes the schema but is wrong is answered as a bad link (field `token`), so no answer
# tells which of the two was wrong.
ANSWERING_FIELDS = {"uid": {"uid", "token"}}
AUTHENTICATED_BODIES = {
    ("PATCH", "/api/auth/user/"): {"email": "john@example.com", "first_name": "John", "last_name": "Doe",
                                   "current_password": "correct horse battery"},
    ("POST", "/api/auth/password/change/"): {"old_password": "correct horse battery",
                                            "new_password": "lantern-orbit-77"},
    ("POST", "/api/auth/logout/"): {"refresh": "token"},
}
CASES = [(path, field, kind) for path, body in BODIES.items() for field in body for kind in HOSTILE]
AUTHENTICATED_CASES = [(method, path, field, kind) for (method, path), body in AUTHENTICATED_BODIES.items()
                       for field in body for kind in HOSTILE]


def assert_answered(response, field):
    assert response.status_int < 500, response.body
    assert response.content_type == "application/json" or response.status_int == 204
    if response.status_int == 400:
        named = {error["field"] for error in response.json.get("errors", [])}
        assert named & ANSWERING_FIELDS.get(field, {field}), response.json


@pytest.mark.parametrize("path, field, kind", CASES)
def test_public_endpoints_answer_hostile_strings_without_a_server_error(testapp, make_user, events, path, field,
                                                                        kind):
    if path in ("/api/auth/login/", "/api/auth/password/reset/confirm/"):
        make_user("john", password="lantern-orbit-77")
    body = {**BODIES[path], field: HOSTILE[kind]}
    if path == "/api/auth/password/reset/confirm/":
        testapp.post_json("/api/auth/password/reset/", {"email": "john@example.com"})
        (mail,) = events
        body = {"uid": mail.uid, "token": mail.token, "new_password": "lantern-orbit-88", field: HOSTILE[kind]}
    assert_answered(testapp.post_json(path, body, expect_errors=True), field)


@pytest.mark.parametrize("method, path, field, kind", AUTHENTICATED_CASES)
def test_authenticated_endpoints_answer_hostile_strings_without_a_server_error(customer_app, method, path, field,
                                                                              kind):
    body = {**AUTHENTICATED_BODIES[(method, path)], field: HOSTILE[kind]}
    call = customer_app.patch_json if method == "PATCH" else customer_app.post_json
    assert_answered(call(path, body, expect_errors=True), field)


@pytest.mark.parametrize("header", ["Bearer \ud800", "Bearer ab\x00cd", "Bearer " + "a" * 10000,
                                    "Bearer e30.e30.", "Bearer \U0001f600.\U0001f600.\U0001f600"])
def test_hostile_authorization_headers_are_401(testapp, header):
    encoded = header.encode("utf-8", "surrogatepass").decode("latin-1")
    response = testapp.get("/api/auth/user/", headers={"Authorization": encoded}, expect_errors=True)
    assert response.status_int == 401


def test_deeply_nested_or_wrongly_typed_bodies_are_400(testapp):
    nested: dict = {}
    for _ in range(200):
        nested = {"a": nested}
    for body in ({"username": nested, "password": "x"}, {"username": ["a"], "password": "x"}, [1, 2], "text", 12):
        assert testapp.post_json("/api/auth/login/", body, expect_errors=True).status_int == 400
