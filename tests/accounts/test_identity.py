"""Identity without a query per request, and the bound after which a revoked token stops working everywhere.

Two app instances (two web processes: their own process memory, one database, one Redis). A token's
claims stand for its user, with no query, while the user is unchanged; a logout, a password change,
a deactivation, a deletion or a removed admin role made through one process holds on the other at
the very next request, with no wait: the bound is the change's own commit.
"""
from __future__ import annotations

import contextlib
import datetime

import jwt
import pytest
import redis.connection
import webtest
from sqlalchemy import event

from shopcore.accounts.models import User
from shopcore.accounts.revocation import CURRENT, NOT_REVOKED
from shopcore.accounts.services import set_admin
from shopcore.security import AUTHENTICATED_PERMISSION
from shopcore.testing import make_test_configurator, require_service
from shopcore.testing.app import request_context

OPENAPI = """
paths:
  /test/whoami/:
    get:
      operationId: testWhoAmI
      security: [{bearerAuth: []}]
      responses:
        "200":
          description: The caller's identity.
          content:
            application/json:
              schema: {type: object}
  /test/admin-only/:
    get:
      operationId: testAdminOnly
      security: [{bearerAuth: []}]
      responses:
        "200":
          description: Done.
          content:
            application/json:
              schema: {type: object}
"""


def whoami(request):
    identity = request.identity
    return {"user_id": identity.user_id, "username": identity.username, "is_admin": identity.is_admin}


@pytest.fixture(scope="module")
def fragment(tmp_path_factory):
    path = tmp_path_factory.mktemp("identity") / "openapi.yaml"
    path.write_text(OPENAPI)
    return str(path)


def process(shopcore_settings, registry, fragment):
    """Another web process: an app of its own on the same database and Redis."""

    def include(config):
        config.add_openapi_fragment(fragment)
        config.add_route("test_whoami", "/test/whoami/")
        config.add_route("test_admin_only", "/test/admin-only/")
        config.add_view(whoami, route_name="test_whoami", request_method="GET", renderer="json", openapi=True,
                        permission=AUTHENTICATED_PERMISSION)
        config.add_view(lambda request: {}, route_name="test_admin_only", request_method="GET", renderer="json",
                        openapi=True, permission="catalog.edit")

    config = make_test_configurator(shopcore_settings, extra_includes=(include,), **{
        "shopcore.engine": registry["shopcore.engine"],
        "shopcore.dbsession_factory": registry["shopcore.dbsession_factory"]})
    return config.make_wsgi_app()


@pytest.fixture(scope="module")
def two_processes(shopcore_settings, shopcore_config, fragment):
    return [process(shopcore_settings, shopcore_config.registry, fragment) for _ in range(2)]


@pytest.fixture
def first(two_processes, db_connection):
    return webtest.TestApp(two_processes[0], extra_environ={"REMOTE_ADDR": "127.0.0.1"})


@pytest.fixture
def second(two_processes, db_connection):
    return webtest.TestApp(two_processes[1], extra_environ={"REMOTE_ADDR": "127.0.0.1"})


@pytest.fixture
def in_first(two_processes):
    """`with in_first() as request:` a request of the first process, committed at the end of the block."""
    return lambda: request_context(two_processes[0].registry)


@pytest.fixture
def counted(shopcore_engine, monkeypatch):
    """`with counted() as sent:` the SQL statements and Redis round trips sent in the block."""
    sent = {"statements": 0, "redis_round_trips": 0}
    original = redis.connection.AbstractConnection.send_packed_command

    def send_packed_command(self, command, check_health=True):
        sent["redis_round_trips"] += 1
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send_packed_command)

    def statement(_connection, _cursor, sql, *_args) -> None:
        # The test's savepoints (each request's commit is one) are the kit's, not the app's.
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            sent["statements"] += 1

    @contextlib.contextmanager
    def count():
        for key in sent:
            sent[key] = 0
        event.listen(shopcore_engine, "before_cursor_execute", statement)
        try:
            yield sent
        finally:
            event.remove(shopcore_engine, "before_cursor_execute", statement)

    return count


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(app, username: str, password: str) -> dict:
    return app.post_json("/api/auth/login/", {"username": username, "password": password}).json


def test_the_claims_stand_for_an_unchanged_user_with_no_query_and_one_redis_round_trip(
        first, second, make_user, counted):
    make_user("ada", is_admin=True, password="ada's long passphrase")
    token = log_in(first, "ada", "ada's long passphrase")["access"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["name"], claims["adm"]) == ("ada", True) and claims["ust"]

    for app in (first, second):
        app.get("/test/whoami/", headers=bearer(token))  # the process's first: it connects to Redis
        with counted() as sent:
            assert app.get("/test/whoami/", headers=bearer(token)).json == {
                "user_id": int(claims["sub"]), "username": "ada", "is_admin": True}
        assert sent == {"statements": 0, "redis_round_trips": 1}
        app.get("/test/admin-only/", headers=bearer(token), status=200)


REVOCATIONS = ["logout", "password change", "deactivation", "deletion", "admin role removed"]


@pytest.mark.parametrize("revocation", REVOCATIONS)
def test_a_revocation_through_one_process_holds_on_the_other_at_its_next_request(
        revocation, first, second, make_user, in_first):
    """The bound: none. The change's own request commits, and the other process's next request is refused."""
    user_id = make_user("carla", is_admin=True, password="carla's long passphrase")
    tokens = log_in(first, "carla", "carla's long passphrase")
    for app in (first, second):  # both have served the token: nothing is left to look up for the first time
        app.get("/test/admin-only/", headers=bearer(tokens["access"]), status=200)

    if revocation == "logout":
        first.post_json("/api/auth/logout/", {"refresh": tokens["refresh"]}, headers=bearer(tokens["access"]),
                        status=204)
    elif revocation == "password change":
        first.post_json("/api/auth/password/change/", {"old_password": "carla's long passphrase",
                                                       "new_password": "a brand new passphrase"},
                        headers=bearer(tokens["access"]), status=204)
    elif revocation == "admin role removed":
        with in_first() as request:  # as `shopcore-admin revoke-admin` does
            assert set_admin(request, "carla", False)[1]
    else:
        with in_first() as request:
            user = request.dbsession.get(User, user_id)
            if revocation == "deactivation":
                user.is_active = False
            else:
                request.dbsession.delete(user)

    if revocation == "admin role removed":
        # The token still stands, for a customer: at once, on both processes.
        for app in (second, first):
            app.get("/test/admin-only/", headers=bearer(tokens["access"]), status=403)
            assert app.get("/test/whoami/", headers=bearer(tokens["access"])).json["is_admin"] is False
    else:
        for app in (second, first):
            app.get("/test/whoami/", headers=bearer(tokens["access"]), status=401)
        second.post_json("/api/auth/refresh/", {"refresh": tokens["refresh"]}, status=401)


def test_a_token_issued_before_a_change_is_checked_against_the_database(first, second, make_user, in_first,
                                                                        counted):
    user_id = make_user("dora", is_admin=True, password="dora's long passphrase")
    token = log_in(first, "dora", "dora's long passphrase")["access"]
    with in_first() as request:
        request.dbsession.get(User, user_id).first_name = "Dora"  # not something a token says: no effect
    with counted() as sent:
        second.get("/test/admin-only/", headers=bearer(token), status=200)
    assert sent["statements"] == 0

    with in_first() as request:
        set_admin(request, "dora", False)
    with counted() as sent:
        assert second.get("/test/whoami/", headers=bearer(token)).json["is_admin"] is False
    assert sent["statements"] == 1  # the user's row, in one query

    # A login after the change stands on its claims again.
    fresh = log_in(second, "dora", "dora's long passphrase")["access"]
    with counted() as sent:
        assert first.get("/test/whoami/", headers=bearer(fresh)).json["is_admin"] is False
    assert sent["statements"] == 0


def test_a_stamp_read_before_a_change_is_outdated_by_it(two_processes, make_user, in_first):
    """Why a new token cannot carry stale claims: its stamp is read before the user's row, and a change
    committed after that read moves the generation past it."""
    user_id = make_user("erin")
    store = two_processes[1].registry["shopcore.accounts.revocation_store"]
    with in_first() as request:
        stamp = store.user_stamp(request, user_id)
        assert store.standing(request, ["jti:x"], user_id, stamp) == CURRENT
    with in_first() as request:
        request.dbsession.get(User, user_id).tokens_valid_after = request.dbsession.get(User, user_id).created_at
    with in_first() as request:
        assert store.standing(request, ["jti:x"], user_id, stamp) == NOT_REVOKED
        assert store.standing(request, ["jti:x"], user_id, store.user_stamp(request, user_id)) == CURRENT


def test_a_login_that_checked_the_old_password_gets_no_token_that_outlives_a_change(
        first, make_user, make_request, shopcore_registry):
    """A password change committed between a login's password check and its token: the token carries
    the credentials the login checked, so it is refused at once, as every earlier token is."""
    from shopcore.accounts.tokens import issue_token_pair

    user_id = make_user("jack", password="jack's long passphrase")
    with make_request() as request:
        checked = request.dbsession.get(User, user_id)  # the row the login checked the password against
    with make_request() as request:
        request.dbsession.get(User, user_id).tokens_valid_after = datetime.datetime.now(datetime.timezone.utc)
    with request_context(shopcore_registry) as request:
        token = issue_token_pair(request, checked)["access"]
    first.get("/test/whoami/", headers=bearer(token), status=401)


def test_a_change_rolled_back_tells_no_one(first, make_user, two_processes, in_first):
    user_id = make_user("fred")
    store = two_processes[0].registry["shopcore.accounts.revocation_store"]
    with in_first() as request:
        stamp = store.user_stamp(request, user_id)
    with pytest.raises(RuntimeError), in_first() as request:
        request.dbsession.get(User, user_id).is_active = False
        request.dbsession.flush()
        raise RuntimeError("the request failed after its change was flushed")
    with in_first() as request:
        assert store.user_stamp(request, user_id) == stamp


def test_tokens_issued_without_the_claims_still_work_with_one_query(first, make_user, shopcore_settings, counted):
    make_user("gina", password="gina's long passphrase")
    token = log_in(first, "gina", "gina's long passphrase")["access"]
    claims = jwt.decode(token, shopcore_settings["shopcore.secret"], algorithms=["HS256"])
    older = jwt.encode({key: value for key, value in claims.items() if key not in ("name", "adm", "ust")},
                       shopcore_settings["shopcore.secret"], algorithm="HS256")
    with counted() as sent:
        assert first.get("/test/whoami/", headers=bearer(older)).json["username"] == "gina"
    assert sent["statements"] == 1


def test_after_redis_lost_its_data_tokens_are_checked_against_the_database_until_renewed(
        first, second, make_user, counted):
    make_user("hugo", password="hugo's long passphrase")
    tokens = log_in(first, "hugo", "hugo's long passphrase")
    first.get("/test/whoami/", headers=bearer(tokens["access"]), status=200)
    direct = redis.Redis.from_url(require_service("SHOPCORE_TEST_REDIS_URL"))
    try:
        direct.flushdb()  # a restart: the generations count from zero again, under a new epoch
    finally:
        direct.close()
    with counted() as sent:
        second.get("/test/whoami/", headers=bearer(tokens["access"]), status=200)
    assert sent["statements"] >= 1  # the record is copied back and the user read
    with counted() as sent:
        second.get("/test/whoami/", headers=bearer(tokens["access"]), status=200)
    assert sent["statements"] == 1  # the stamp is of the old epoch: the user is read

    renewed = second.post_json("/api/auth/refresh/", {"refresh": tokens["refresh"]}).json
    with counted() as sent:
        first.get("/test/whoami/", headers=bearer(renewed["access"]), status=200)
    assert sent["statements"] == 0


def test_without_redis_each_check_is_one_query(make_app, make_user, auth, counted):
    app = make_app(**{"shopcore.accounts.revocation_store": "database"})
    make_user("ivy", password="ivy's long passphrase")
    tokens = app.post_json("/api/auth/login/", {"username": "ivy", "password": "ivy's long passphrase"}).json
    with counted() as sent:
        app.get("/api/auth/user/", headers=auth.bearer(tokens["access"]), status=200)
    assert sent["statements"] == 2  # the identity (user and record in one query), then the view's own read
    app.post_json("/api/auth/logout/", {}, headers=auth.bearer(tokens["access"]), status=204)
    app.get("/api/auth/user/", headers=auth.bearer(tokens["access"]), status=401)
