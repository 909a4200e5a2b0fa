"""Token attacks on every bearer-protected operation of the merged spec: each forged, stale or misused
token gets a 401 with `WWW-Authenticate: Bearer`, where the genuine token of the same user, on the same
request, does not. The caller is an admin, so no 403 can hide what the token check decided.

`tests/accounts/test_tokens.py` holds the finer cases of the token module itself (rotation, reuse of a
spent refresh token, a second app instance seeing a logout).
"""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

WRONG_KEY = "not-the-shop-secret-" + "y" * 40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict, alg: str = "none") -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def forged_tokens(genuine: str, refresh: str, secret: str, other_user_id: int) -> dict[str, str]:
    claims = jwt.decode(genuine, secret, algorithms=["HS256"])
    now = int(time.time())
    header, payload, signature = genuine.split(".")
    tampered_payload = b64(json.dumps({**claims, "sub": str(other_user_id)}).encode())
    without_expiry = {key: value for key, value in claims.items() if key != "exp"}
    return {
        "alg none": unsigned(claims),
        "alg none, upper case": unsigned(claims, "NONE"),
        "alg none, no signature part": unsigned(claims)[:-1],
        "wrong key": jwt.encode(claims, WRONG_KEY, algorithm="HS256"),
        "another algorithm under the right key": jwt.encode(claims, secret, algorithm="HS384"),
        "expired": jwt.encode({**claims, "iat": now - 3600, "exp": now - 60}, secret, algorithm="HS256"),
        "not yet valid (nbf)": jwt.encode({**claims, "nbf": now + 3600}, secret, algorithm="HS256"),
        "issued in the future (iat)": jwt.encode({**claims, "iat": now + 3600}, secret, algorithm="HS256"),
        "without expiry": jwt.encode(without_expiry, secret, algorithm="HS256"),
        "another user's id under the original signature": f"{header}.{tampered_payload}.{signature}",
        "refresh token used as access": refresh,
        "garbage": "not-a-token",
        "empty": "",
    }


@pytest.fixture(scope="module")
def admin_and_objects(module_shop, fill):
    admin = module_shop.user("tokenadmin", is_admin=True)
    other = module_shop.user("tokenother")
    return admin, other, fill(module_shop, admin)


def request_for(operation, objects, examples, resource):
    url = operation.url(id=objects.ids[resource(operation.path)][0]) if operation.path_parameters else operation.path
    return url, examples.body(operation.operation_id)


def assert_refused(response, what):
    assert response.status_int == 401, (what, response.status_int, response.text)
    assert response.headers["WWW-Authenticate"].startswith("Bearer"), what
    assert response.json == {"detail": "Authentication credentials were not provided or are invalid."}


def test_forged_and_misused_tokens_are_refused_everywhere(secured_operation, admin_and_objects, module_shop,
                                                          module_savepoint, isolated, examples, resource,
                                                          shopcore_settings):
    operation = secured_operation
    admin, other, objects = admin_and_objects
    url, body = request_for(operation, objects, examples, resource)
    app = module_shop.anonymous
    for attack, token in forged_tokens(admin.access, admin.refresh, shopcore_settings["shopcore.secret"],
                                       other.user_id).items():
        with isolated():
            response = app.request(operation.method, url, body, headers={"Authorization": f"Bearer {token}"})
            assert_refused(response, f"{operation}: {attack}")
    for scheme in (f"Basic {admin.access}", f"Token {admin.access}", admin.access, f"Bearer {admin.access} extra"):
        with isolated():
            assert_refused(app.request(operation.method, url, body, headers={"Authorization": scheme}),
                           f"{operation}: Authorization: {scheme[:12]}...")
    with isolated():
        assert_refused(app.request(operation.method, url, body), f"{operation}: no token")
    with isolated():
        genuine = app.request(operation.method, url, body, headers=admin.bearer)
        assert genuine.status_int not in (401, 403), (operation, genuine.status_int, genuine.text)


def test_revoked_and_outdated_tokens_are_refused_everywhere(secured_operation, admin_and_objects, module_shop,
                                                            module_savepoint, isolated, examples, resource):
    operation = secured_operation
    admin, _other, objects = admin_and_objects
    url, body = request_for(operation, objects, examples, resource)
    app = module_shop.anonymous
    with isolated():
        assert admin.client.request("POST", "/api/auth/logout/").status_int == 204
        assert_refused(app.request(operation.method, url, body, headers=admin.bearer), f"{operation}: logged out")
    with isolated():
        changed = admin.client.request("POST", "/api/auth/password/change/",
                                       {"old_password": admin.password, "new_password": "a brand new passphrase"})
        assert changed.status_int == 204, changed.text
        assert_refused(app.request(operation.method, url, body, headers=admin.bearer),
                       f"{operation}: issued before a password change")
