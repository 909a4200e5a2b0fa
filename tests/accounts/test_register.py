"""POST /api/auth/register/: a new customer, unique names, valid e-mail, a strong password, no privileges."""
import pytest
from sqlalchemy import select

from shopcore.accounts.events import UserRegistered
from shopcore.accounts.models import User


def register(app, status=201, **body):
    payload = {"username": "john", "email": "john@example.com", "password": "violet-harbour-42"}
    payload.update(body)
    return app.post_json("/api/auth/register/", payload, status=status)


def test_register_creates_a_customer_and_answers_id_username_email(testapp, make_request, events):
    response = register(testapp)

    body = response.json
    assert set(body) == {"id", "username", "email", "first_name", "last_name"}
    assert (body["username"], body["email"]) == ("john", "john@example.com")
    with make_request() as request:
        user = request.dbsession.get(User, body["id"])
        assert user.is_admin is False and user.is_active is True
        assert user.password_hash.startswith("$argon2id$") and "violet" not in user.password_hash
    assert events == [UserRegistered(user_id=body["id"], username="john", email="john@example.com")]


def test_registered_user_can_log_in(testapp, auth):
    register(testapp)
    assert set(auth.login(testapp, "john", "violet-harbour-42").json) == {"access", "refresh"}


@pytest.mark.parametrize("flag", ["is_admin", "is_staff", "is_superuser", "id", "is_active"])
def test_privilege_fields_in_the_body_are_refused_and_grant_nothing(testapp, make_request, flag):
    response = register(testapp, status=400, **{flag: True})

    assert response.json["errors"] == [{"field": flag, "message": "Unknown field."}]
    with make_request() as request:
        assert request.dbsession.scalar(select(User).where(User.username == "john")) is None


def test_duplicate_username_is_a_400_naming_username_in_any_case(testapp, auth):
    register(testapp)
    response = register(testapp, status=400, username="JOHN", email="other@example.com")
    assert auth.fields(response) == {"username": "A user with that username already exists."}


def test_duplicate_email_is_a_400_naming_email_in_any_case(testapp, auth):
    register(testapp)
    response = register(testapp, status=400, username="johnny", email="John@EXAMPLE.com")
    assert auth.fields(response) == {"email": "A user with that email already exists."}


@pytest.mark.parametrize("email", ["not-an-email", "john@localhost", "john@@example.com", "a b@example.com"])
def test_invalid_email_is_a_400_naming_email(testapp, auth, email):
    response = register(testapp, status=400, email=email)
    assert list(auth.fields(response)) == ["email"]


@pytest.mark.parametrize("password, message", [
    ("short-1", "This password is too short; it must contain at least 10 characters."),
    ("12345678901234", "This password is entirely numeric."),
    ("password123", "This password is too common."),
    ("qwertyuiop", "This password is too common."),
    ("JohnTheUser", "This password is the same as your username or e-mail address."),
    ("john@example.com", "This password is the same as your username or e-mail address."),
])
def test_weak_password_is_a_400_naming_password(testapp, auth, password, message):
    username = "johntheuser" if password == "JohnTheUser" else "john"
    response = register(testapp, status=400, username=username, password=password)
    assert auth.fields(response) == {"password": message}


def test_every_field_at_fault_is_named_at_once(testapp, auth):
    register(testapp)
    response = register(testapp, status=400, email="JOHN@example.com", password="1234567890")
    assert set(auth.fields(response)) == {"username", "email", "password"}


@pytest.mark.parametrize("body, field", [
    ({"username": "john doe"}, "username"),
    ({"username": "j" * 151}, "username"),
    ({"username": ""}, "username"),
    ({"username": "nul\x00byte"}, "username"),
    ({"first_name": "bell\x07"}, "first_name"),
    ({"email": "x" * 250 + "@example.com"}, "email"),
    ({"password": None}, "password"),
    ({"username": 12}, "username"),
])
def test_malformed_fields_are_400s_naming_the_field(testapp, auth, body, field):
    response = register(testapp, status=400, **body)
    assert field in auth.fields(response)


def test_missing_fields_are_named(testapp, auth):
    response = testapp.post_json("/api/auth/register/", {}, status=400)
    assert auth.fields(response) == {name: "This field is required." for name in ("username", "email", "password")}


def test_names_are_optional_and_kept(testapp):
    body = register(testapp, first_name="John", last_name="O'Brien <b>").json
    assert (body["first_name"], body["last_name"]) == ("John", "O'Brien <b>")
