"""GET and PATCH /api/auth/user/: the current user; PATCH changes e-mail and names, nothing else."""
import pytest

from shopcore.accounts.models import User

ME = "/api/auth/user/"


def test_get_answers_the_current_user(customer_app):
    body = customer_app.get(ME).json
    assert body == {"id": customer_app.user_id, "username": "customer", "email": "customer@example.com",
                    "first_name": "", "last_name": ""}


def test_get_needs_a_login(testapp):
    assert testapp.get(ME, status=401).json["detail"]


def test_patch_changes_names_and_asks_to_confirm_a_new_email(customer_app):
    body = customer_app.patch_json(ME, {"email": "New.Address@Example.COM", "first_name": "Cus",
                                        "last_name": "Tomer", "current_password": "correct horse battery"}).json
    # The new address takes effect once the link mailed to it is used (tests/accounts/test_email_change.py).
    assert body == {"id": customer_app.user_id, "username": "customer", "email": "customer@example.com",
                    "first_name": "Cus", "last_name": "Tomer"}
    assert customer_app.get(ME).json == body


def test_patch_keeps_fields_not_sent(customer_app):
    customer_app.patch_json(ME, {"first_name": "Cus"})
    assert customer_app.patch_json(ME, {"last_name": "Tomer"}).json["first_name"] == "Cus"


@pytest.mark.parametrize("field, value", [
    ("is_admin", True), ("is_active", False), ("id", 99), ("username", "root"), ("password", "x" * 20),
    ("password_hash", "$argon2id$"), ("tokens_valid_after", "2000-01-01T00:00:00Z"), ("created_at", "2000-01-01"),
])
def test_patch_cannot_set_anything_else(customer_app, make_request, auth, field, value):
    response = customer_app.patch_json(ME, {field: value}, status=400)

    assert auth.fields(response) == {field: "Unknown field."}
    with make_request() as request:
        user = request.dbsession.get(User, customer_app.user_id)
        assert (user.username, user.is_admin, user.is_active) == ("customer", False, True)


def test_patch_with_is_admin_next_to_a_valid_change_changes_nothing(customer_app, make_request):
    customer_app.patch_json(ME, {"email": "other@example.com", "is_admin": True}, status=400)
    with make_request() as request:
        user = request.dbsession.get(User, customer_app.user_id)
        assert (user.email, user.is_admin) == ("customer@example.com", False)


def test_patch_never_gives_an_email_in_use_in_any_case(customer_app, make_user, make_request):
    make_user("mary", email="mary@example.com")
    # The same answer as for a free address (tests/accounts/test_email_change.py), and nothing changes.
    customer_app.patch_json(ME, {"email": "MARY@example.com", "current_password": "correct horse battery"})
    with make_request() as request:
        assert request.dbsession.get(User, customer_app.user_id).email == "customer@example.com"


def test_patch_may_change_only_the_case_of_ones_own_email(customer_app):
    body = {"email": "Customer@example.com", "current_password": "correct horse battery"}
    assert customer_app.patch_json(ME, body).json["email"] == "Customer@example.com"


@pytest.mark.parametrize("body, field", [
    ({"email": "nope"}, "email"), ({"email": None}, "email"), ({"first_name": "x" * 151}, "first_name"),
    ({"last_name": "tab\tand nul\x00"}, "last_name"),
])
def test_patch_validates_fields(customer_app, auth, body, field):
    response = customer_app.patch_json(ME, body, status=400)
    assert field in auth.fields(response)


def test_patch_of_one_user_never_touches_another(customer_app, other_customer_app):
    customer_app.patch_json(ME, {"first_name": "Only me"})
    assert other_customer_app.get(ME).json["first_name"] == ""
