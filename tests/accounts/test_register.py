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


# --- issue 21: usernames NFKC-normalised, look-alikes refused, one case folding on every database ----

def test_a_username_is_stored_nfkc_normalised(testapp, auth):
    body = register(testapp, username="ｊｏｈｎ").json
    assert body["username"] == "john"
    auth.login(testapp, "john", "violet-harbour-42")


@pytest.mark.parametrize("lookalike", [
    "ａｄｍｉｎ",   # fullwidth
    "ＡＤＭＩＮ",   # fullwidth capitals
    "аdmin",       # Cyrillic а
    "ΑDMIN",       # Greek capital alpha
    "аdmіn",       # Cyrillic а and і
])
def test_a_username_that_looks_like_an_existing_one_is_refused(testapp, auth, lookalike):
    register(testapp, username="admin", email="admin@example.com")
    response = register(testapp, status=400, username=lookalike, email="other@example.com")
    assert list(auth.fields(response)) == ["username"]


def test_look_alikes_are_refused_whichever_came_first(testapp, auth):
    register(testapp, username="аdmin", email="first@example.com")  # Cyrillic а
    response = register(testapp, status=400, username="admin", email="second@example.com")
    assert auth.fields(response) == {"username": "A user with a username that looks the same already exists."}


@pytest.mark.parametrize("first, second", [("Äsa", "äSA"), ("Jörg", "JÖRG"), ("Straße", "STRASSE"),
                                           ("Ωmega", "ωMEGA")])
def test_non_ascii_usernames_differing_in_case_are_one_user_on_every_database(testapp, auth, first, second):
    """SQLite's lower() folds ASCII letters only; PostgreSQL's folds the rest too. Both must refuse."""
    register(testapp, username=first, email="first@example.com")
    response = register(testapp, status=400, username=second, email="second@example.com")
    assert auth.fields(response) == {"username": "A user with that username already exists."}
    auth.login(testapp, second, "violet-harbour-42")


def test_distinct_usernames_stay_distinct(testapp):
    for name in ("anna", "hanna", "anne", "jörg", "jorg"):
        register(testapp, username=name, email=f"{name}@example.com")
