"""Login, refresh, logout and the access token check, including the attacks a token endpoint meets."""
import base64
import hashlib
import hmac
import json
import logging
import time
import uuid

import jwt
import pytest
from argon2 import PasswordHasher

from shopcore.accounts.models import User

ME = "/api/auth/user/"


@pytest.fixture
def john(make_user):
    return make_user("john")


@pytest.fixture
def secret(shopcore_settings):
    return shopcore_settings["shopcore.secret"]


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def assert_unauthorized(response):
    assert response.status_int == 401
    assert response.json == {"detail": "Authentication credentials were not provided or are invalid."}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- login ---------------------------------------------------------------------------------------

def test_login_answers_an_access_and_a_refresh_token_that_work(testapp, auth, john):
    tokens = auth.login(testapp, "john").json

    assert set(tokens) == {"access", "refresh"}
    me = testapp.get(ME, headers=auth.bearer(tokens["access"])).json
    assert (me["id"], me["username"]) == (john, "john")
    assert testapp.post_json("/api/auth/refresh/", {"refresh": tokens["refresh"]}).status_int == 200


def test_tokens_have_string_subject_ids_and_default_lifetimes(testapp, auth, john):
    tokens = auth.login(testapp, "john").json
    access, refresh = claims_of(tokens["access"]), claims_of(tokens["refresh"])

    assert access["sub"] == refresh["sub"] == str(john)
    assert (access["type"], refresh["type"]) == ("access", "refresh")
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600
    assert access["jti"] != refresh["jti"] and access["sid"] == refresh["sid"]


def test_lifetimes_are_settable(make_app, auth, john):
    app = make_app(**{"shopcore.jwt.access_ttl": "60", "shopcore.jwt.refresh_ttl": "120"})
    tokens = auth.login(app, "john").json
    assert claims_of(tokens["access"])["exp"] - claims_of(tokens["access"])["iat"] == 60
    assert claims_of(tokens["refresh"])["exp"] - claims_of(tokens["refresh"])["iat"] == 120


def test_wrong_password_and_unknown_user_get_the_same_answer(testapp, auth, john):
    wrong_password = auth.login(testapp, "john", "not the password at all", status=401)
    unknown_user = auth.login(testapp, "nobody", "not the password at all", status=401)

    assert wrong_password.json == unknown_user.json == {
        "detail": "No active account found with the given credentials."}
    ignored = {"X-Request-ID", "Content-Length"}
    assert ({k: v for k, v in wrong_password.headers.items() if k not in ignored}
            == {k: v for k, v in unknown_user.headers.items() if k not in ignored})


def test_inactive_user_cannot_log_in_and_gets_the_same_answer(testapp, auth, john, make_request):
    with make_request() as request:
        request.dbsession.get(User, john).is_active = False
    response = auth.login(testapp, "john", status=401)
    assert response.json == {"detail": "No active account found with the given credentials."}


def test_username_is_matched_without_regard_to_case(testapp, auth, john):
    assert auth.login(testapp, "JOHN").status_int == 200


def test_login_body_is_validated(testapp, auth):
    response = testapp.post_json("/api/auth/login/", {"username": "john"}, status=400)
    assert auth.fields(response) == {"password": "This field is required."}
    response = testapp.post_json("/api/auth/login/", {"username": "john", "password": "x", "is_admin": True},
                                 status=400)
    assert auth.fields(response) == {"is_admin": "Unknown field."}


def test_login_with_a_nul_byte_is_a_plain_401(testapp, auth, john):
    auth.login(testapp, "jo\x00hn", status=401)


def test_login_rehashes_a_password_when_the_hashing_parameters_changed(testapp, make_app, auth, make_request):
    """The suite hashes with cheap parameters; an app on the defaults upgrades such a hash at login."""
    user_id = testapp.post_json("/api/auth/register/", {
        "username": "john", "email": "john@example.com", "password": auth.password}).json["id"]
    with make_request() as request:
        old_hash = request.dbsession.get(User, user_id).password_hash
    assert "m=8192,t=1,p=1" in old_hash
    on_defaults = make_app(**{f"shopcore.accounts.argon2.{name}": None
                              for name in ("time_cost", "memory_cost", "parallelism")})

    auth.login(on_defaults, "john")

    with make_request() as request:
        new_hash = request.dbsession.get(User, user_id).password_hash
    assert "m=65536,t=3,p=4" in new_hash and not PasswordHasher().check_needs_rehash(new_hash)
    auth.login(on_defaults, "john")
    with make_request() as request:
        assert request.dbsession.get(User, user_id).password_hash == new_hash


# --- attacks on the access token -----------------------------------------------------------------

def forge(claims: dict, key: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def genuine_claims(token: str) -> dict:
    return claims_of(token)


def test_no_token_or_a_malformed_header_is_401(testapp):
    assert_unauthorized(testapp.get(ME, status=401))
    for header in ("Bearer", "Bearer ", "Bearer not.a.jwt", "Basic am9objpwYXNz", "Token abc", "Bearer a b"):
        assert_unauthorized(testapp.get(ME, headers={"Authorization": header}, status=401))


def test_tampered_token_is_401(testapp, auth, john, make_user):
    token = auth.login(testapp, "john").json["access"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(make_user("mallory"))
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(f"{header}.{forged_payload}.{signature}"), status=401))
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(f"{header}.{payload}.{flipped}"), status=401))


def test_alg_none_token_is_401(testapp, auth, john):
    claims = genuine_claims(auth.login(testapp, "john").json["access"])
    unsigned = forge(claims, "", algorithm="none")
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(unsigned), status=401))
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(unsigned.rstrip(".") + "."), status=401))


def test_token_signed_with_another_key_is_401(testapp, auth, john):
    claims = genuine_claims(auth.login(testapp, "john").json["access"])
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(forge(claims, "another-key-" + "y" * 80)), status=401))
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(forge(claims, "another-key-" + "y" * 80, "HS512")),
                                    status=401))


def test_token_with_another_algorithm_under_the_right_key_is_401(testapp, auth, john, secret):
    claims = genuine_claims(auth.login(testapp, "john").json["access"])
    header = base64.urlsafe_b64encode(b'{"alg":"HS384","typ":"JWT"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    signature = base64.urlsafe_b64encode(
        hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha384).digest()).decode().rstrip("=")
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(f"{header}.{body}.{signature}"), status=401))


def test_expired_token_is_401(testapp, auth, john, secret):
    claims = genuine_claims(auth.login(testapp, "john").json["access"])
    now = int(time.time())
    expired = forge({**claims, "iat": now - 1000, "exp": now - 10}, secret)
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(expired), status=401))


def test_token_past_its_real_lifetime_is_401(make_app, auth, john):
    app = make_app(**{"shopcore.jwt.access_ttl": "1"})
    token = auth.login(app, "john").json["access"]
    app.get(ME, headers=auth.bearer(token), status=200)
    time.sleep(2.1)
    assert_unauthorized(app.get(ME, headers=auth.bearer(token), status=401))


def test_not_yet_valid_token_is_401(testapp, auth, john, secret):
    claims = genuine_claims(auth.login(testapp, "john").json["access"])
    now = int(time.time())
    for future in ({"nbf": now + 600}, {"iat": now + 600, "exp": now + 1200}):
        assert_unauthorized(testapp.get(ME, headers=auth.bearer(forge({**claims, **future}, secret)), status=401))


def test_token_without_expiry_or_with_a_foreign_shape_is_401(testapp, auth, john, secret):
    claims = genuine_claims(auth.login(testapp, "john").json["access"])
    for broken in ({k: v for k, v in claims.items() if k != "exp"},
                   {**claims, "sub": john},
                   {**claims, "sub": "99999999999999999999"},
                   {**claims, "sub": "\u00b2"},
                   {**claims, "type": "admin"},
                   {k: v for k, v in claims.items() if k != "cv"}):
        assert_unauthorized(testapp.get(ME, headers=auth.bearer(forge(broken, secret)), status=401))


def test_refresh_token_is_not_accepted_as_an_access_token(testapp, auth, john):
    refresh = auth.login(testapp, "john").json["refresh"]
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(refresh), status=401))


def test_access_token_is_not_accepted_as_a_refresh_token(testapp, auth, john):
    access = auth.login(testapp, "john").json["access"]
    response = testapp.post_json("/api/auth/refresh/", {"refresh": access}, status=401)
    assert response.json == {"detail": "Token is invalid or expired."}


def test_token_of_a_deleted_or_deactivated_user_is_401(testapp, auth, john, make_request):
    token = auth.login(testapp, "john").json["access"]
    with make_request() as request:
        request.dbsession.get(User, john).is_active = False
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(token), status=401))


# --- refresh -------------------------------------------------------------------------------------

def test_refresh_rotates_and_the_old_refresh_token_stops_working(testapp, auth, john):
    first = auth.login(testapp, "john").json
    second = testapp.post_json("/api/auth/refresh/", {"refresh": first["refresh"]}).json

    assert set(second) == {"access", "refresh"} and second["refresh"] != first["refresh"]
    assert claims_of(second["refresh"])["sid"] == claims_of(first["refresh"])["sid"]
    testapp.get(ME, headers=auth.bearer(second["access"]), status=200)
    third = testapp.post_json("/api/auth/refresh/", {"refresh": second["refresh"]}).json
    testapp.get(ME, headers=auth.bearer(third["access"]), status=200)


def test_a_spent_refresh_token_used_again_ends_its_whole_session(testapp, auth, john):
    first = auth.login(testapp, "john").json
    second = testapp.post_json("/api/auth/refresh/", {"refresh": first["refresh"]}).json
    other_session = auth.login(testapp, "john").json

    replay = testapp.post_json("/api/auth/refresh/", {"refresh": first["refresh"]}, status=401)

    assert replay.json == {"detail": "Token is invalid or expired."}
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(second["access"]), status=401))
    testapp.post_json("/api/auth/refresh/", {"refresh": second["refresh"]}, status=401)
    # Other logins of the same user are not affected.
    testapp.get(ME, headers=auth.bearer(other_session["access"]), status=200)


@pytest.mark.parametrize("refresh", ["", "x" * 5000, "not-a-token", None, 42])
def test_malformed_refresh_bodies_are_4xx(testapp, refresh):
    response = testapp.post_json("/api/auth/refresh/", {"refresh": refresh}, expect_errors=True)
    assert response.status_int in (400, 401)


def test_forged_refresh_tokens_are_401(testapp, auth, john, secret):
    claims = claims_of(auth.login(testapp, "john").json["refresh"])
    for forged in (forge(claims, "wrong-key-" + "z" * 80), forge(claims, "", "none"),
                   forge({**claims, "exp": int(time.time()) - 5}, secret)):
        testapp.post_json("/api/auth/refresh/", {"refresh": forged}, status=401)


# --- logout --------------------------------------------------------------------------------------

def test_logout_stops_the_access_and_refresh_tokens_at_once(testapp, auth, john):
    tokens = auth.login(testapp, "john").json

    response = testapp.post_json("/api/auth/logout/", {"refresh": tokens["refresh"]},
                                 headers=auth.bearer(tokens["access"]), status=204)

    assert response.body == b""
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(tokens["access"]), status=401))
    testapp.post_json("/api/auth/refresh/", {"refresh": tokens["refresh"]}, status=401)


def test_logout_without_a_body_ends_the_session_of_the_access_token(testapp, auth, john):
    tokens = auth.login(testapp, "john").json
    other_login = auth.login(testapp, "john").json

    testapp.post("/api/auth/logout/", headers=auth.bearer(tokens["access"]), status=204)

    assert_unauthorized(testapp.get(ME, headers=auth.bearer(tokens["access"]), status=401))
    testapp.post_json("/api/auth/refresh/", {"refresh": tokens["refresh"]}, status=401)
    testapp.get(ME, headers=auth.bearer(other_login["access"]), status=200)


def test_logout_revokes_a_given_refresh_token_of_another_session_of_the_same_user(testapp, auth, john):
    phone, laptop = auth.login(testapp, "john").json, auth.login(testapp, "john").json
    testapp.post_json("/api/auth/logout/", {"refresh": laptop["refresh"]}, headers=auth.bearer(phone["access"]),
                      status=204)
    testapp.post_json("/api/auth/refresh/", {"refresh": laptop["refresh"]}, status=401)
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(laptop["access"]), status=401))


def test_logout_ignores_another_users_refresh_token(testapp, auth, john, make_user):
    make_user("mary")
    johns, marys = auth.login(testapp, "john").json, auth.login(testapp, "mary").json
    testapp.post_json("/api/auth/logout/", {"refresh": marys["refresh"]}, headers=auth.bearer(johns["access"]),
                      status=204)
    testapp.get(ME, headers=auth.bearer(marys["access"]), status=200)
    testapp.post_json("/api/auth/refresh/", {"refresh": marys["refresh"]}, status=200)


def test_logout_needs_a_valid_access_token(testapp, auth, john):
    assert_unauthorized(testapp.post("/api/auth/logout/", status=401))
    refresh = auth.login(testapp, "john").json["refresh"]
    assert_unauthorized(testapp.post("/api/auth/logout/", headers=auth.bearer(refresh), status=401))


def test_logout_holds_on_every_app_instance(testapp, make_app, auth, john):
    """A second app instance shares nothing with the first but the revocation store (Redis when the
    suite has one, else the database), as another web process would."""
    second_process = make_app()
    tokens = auth.login(testapp, "john").json
    second_process.get(ME, headers=auth.bearer(tokens["access"]), status=200)

    testapp.post("/api/auth/logout/", headers=auth.bearer(tokens["access"]), status=204)

    assert_unauthorized(second_process.get(ME, headers=auth.bearer(tokens["access"]), status=401))
    second_process.post_json("/api/auth/refresh/", {"refresh": tokens["refresh"]}, status=401)


def test_revocation_lives_in_redis_when_one_is_configured(shopcore_registry, redis_url):
    from shopcore.accounts.revocation import DatabaseRevocationStore, RedisRevocationStore

    store = shopcore_registry["shopcore.accounts.revocation_store"]
    assert isinstance(store, RedisRevocationStore if redis_url else DatabaseRevocationStore)


def test_revocations_are_forgotten_once_the_tokens_would_have_expired(make_request, shopcore_registry):
    store = shopcore_registry["shopcore.accounts.revocation_store"]
    key = f"jti:{uuid.uuid4().hex}"
    with make_request() as request:
        store.revoke(request, {key: int(time.time()) + 2})
    with make_request() as request:
        assert store.is_revoked(request, [key])
    time.sleep(3.1)
    with make_request() as request:
        assert not store.is_revoked(request, [key])


# --- Redis away ----------------------------------------------------------------------------------

def test_with_redis_away_login_and_logout_work_and_the_revocation_holds(make_app, auth, john, caplog):
    app = make_app(**{"shopcore.redis_url": "redis://127.0.0.1:1/0"})
    caplog.set_level(logging.WARNING)

    tokens = auth.login(app, "john").json
    app.get(ME, headers=auth.bearer(tokens["access"]), status=200)
    app.post("/api/auth/logout/", headers=auth.bearer(tokens["access"]), status=204)
    app.get(ME, headers=auth.bearer(tokens["access"]), status=401)  # the database keeps the revocation
    refused = app.post_json("/api/auth/refresh/", {"refresh": tokens["refresh"]}, status=401)

    assert refused.json["detail"]
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "rate limit login_ip not counted (allowing)" in messages
    assert "revocations: Redis failed" in messages
    assert tokens["access"] not in messages and tokens["refresh"] not in messages


# --- issue 21: an absolute lifetime for a login session --------------------------------------------

def test_a_login_session_ends_after_its_lifetime_however_often_it_is_refreshed(make_app, auth, john):
    app = make_app(**{"shopcore.accounts.session_lifetime": "3"})
    first = auth.login(app, "john").json
    started = claims_of(first["refresh"])["auth_time"]
    second = app.post_json("/api/auth/refresh/", {"refresh": first["refresh"]}).json

    # The session's start is carried over, and no refresh token outlives the session.
    assert claims_of(second["refresh"])["auth_time"] == started
    assert claims_of(second["refresh"])["exp"] <= started + 3
    time.sleep(max(0.0, started + 3.1 - time.time()))
    app.post_json("/api/auth/refresh/", {"refresh": second["refresh"]}, status=401)


def test_a_refresh_token_of_a_session_past_its_lifetime_is_refused_and_ends_the_session(testapp, auth, john, secret):
    tokens = auth.login(testapp, "john").json
    claims = claims_of(tokens["refresh"])
    # Signed with the real key: a token whose own expiry is fine but whose session began 31 days ago.
    old_session = forge({**claims, "jti": uuid.uuid4().hex, "auth_time": claims["auth_time"] - 31 * 24 * 3600},
                        secret)

    response = testapp.post_json("/api/auth/refresh/", {"refresh": old_session}, status=401)

    assert response.json == {"detail": "Token is invalid or expired."}
    assert_unauthorized(testapp.get(ME, headers=auth.bearer(tokens["access"]), status=401))
