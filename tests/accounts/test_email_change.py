"""Changing the e-mail address (issue 21, points 1 and 5): the current password, a confirmation link
sent to the new address, an undo link for the old one, and one answer for taken and free addresses."""
import datetime
import hashlib

import pytest
from sqlalchemy import select, update

from shopcore.accounts.events import (EmailChangeAddressTaken, EmailChanged, EmailChangeRequested,
                                      EmailChangeUndone, PasswordResetRequested)
from shopcore.accounts.models import EmailChange, PasswordReset, User

ME = "/api/auth/user/"
CONFIRM = "/api/auth/email/confirm/"
UNDO = "/api/auth/email/undo/"


def change(app, email, password="correct horse battery", **kwargs):
    return app.patch_json(ME, {"email": email, "current_password": password}, **kwargs)


def of_type(events, kind):
    return [event for event in events if isinstance(event, kind)]


def stored_email(make_request, user_id):
    with make_request() as request:
        return request.dbsession.get(User, user_id).email


def link_body(event, token_field="token"):
    return {"uid": event.uid, "token": getattr(event, token_field)}


def test_a_new_email_without_the_current_password_is_a_400_naming_it(customer_app, auth, make_request, events):
    response = customer_app.patch_json(ME, {"email": "thief@example.com"}, status=400)

    assert auth.fields(response) == {"current_password": "Enter your current password to change your e-mail address."}
    assert stored_email(make_request, customer_app.user_id) == "customer@example.com"
    assert not of_type(events, EmailChangeRequested)


def test_a_wrong_current_password_is_refused(customer_app, auth, make_request, events):
    response = change(customer_app, "thief@example.com", password="a guess of the thief", status=400)

    assert auth.fields(response) == {"current_password": "Your current password was entered incorrectly."}
    assert stored_email(make_request, customer_app.user_id) == "customer@example.com"
    assert not of_type(events, EmailChangeRequested)


def test_names_still_change_without_a_password(customer_app):
    body = customer_app.patch_json(ME, {"first_name": "Cus", "last_name": "Tomer"}).json
    assert (body["first_name"], body["last_name"], body["email"]) == ("Cus", "Tomer", "customer@example.com")


def test_the_same_address_again_needs_no_password_and_changes_nothing(customer_app, events):
    body = customer_app.patch_json(ME, {"email": "customer@example.com", "first_name": "Cus"}).json
    assert (body["email"], body["first_name"]) == ("customer@example.com", "Cus")
    assert not of_type(events, EmailChangeRequested)


def test_the_new_address_takes_effect_only_through_the_link_sent_to_it(customer_app, testapp, make_request, events,
                                                                      shopcore_settings):
    base_url = shopcore_settings["shopcore.base_url"]
    body = change(customer_app, "New.Address@Example.COM").json

    assert body["email"] == "customer@example.com"
    assert customer_app.get(ME).json["email"] == "customer@example.com"
    [requested] = of_type(events, EmailChangeRequested)
    assert (requested.old_email, requested.new_email) == ("customer@example.com", "New.Address@example.com")
    assert requested.link == f"{base_url}/email/confirm/?uid={requested.uid}&token={requested.token}"

    testapp.post_json(CONFIRM, link_body(requested), status=204)

    assert customer_app.get(ME).json["email"] == "New.Address@example.com"
    [changed] = of_type(events, EmailChanged)
    assert (changed.old_email, changed.new_email) == ("customer@example.com", "New.Address@example.com")
    assert changed.undo_link == f"{base_url}/email/undo/?uid={changed.uid}&token={changed.undo_token}"


def test_only_hashes_of_the_tokens_are_stored(customer_app, testapp, make_request, events):
    change(customer_app, "new@example.com")
    [requested] = of_type(events, EmailChangeRequested)
    testapp.post_json(CONFIRM, link_body(requested), status=204)
    [changed] = of_type(events, EmailChanged)
    with make_request() as request:
        [row] = request.dbsession.scalars(select(EmailChange)).all()
        assert row.token_hash == hashlib.sha256(requested.token.encode()).hexdigest()
        assert row.undo_token_hash == hashlib.sha256(changed.undo_token.encode()).hexdigest()
        assert requested.token not in (row.token_hash, row.undo_token_hash)


def test_a_confirmation_link_works_once(customer_app, testapp, events, auth):
    change(customer_app, "new@example.com")
    [requested] = of_type(events, EmailChangeRequested)
    testapp.post_json(CONFIRM, link_body(requested), status=204)
    again = testapp.post_json(CONFIRM, link_body(requested), status=400)
    assert auth.fields(again) == {"token": "The link is invalid or has expired."}


@pytest.mark.parametrize("tamper", ["token", "uid", "expired", "other_request", "password_changed"])
def test_a_confirmation_link_fails_when_wrong_expired_or_outdated(customer_app, testapp, make_request, make_user,
                                                                  events, auth, tamper):
    change(customer_app, "new@example.com")
    [requested] = of_type(events, EmailChangeRequested)
    body = link_body(requested)
    if tamper == "token":
        body["token"] += "x"
    elif tamper == "uid":
        body["uid"] = "OTk5"  # another user id
    elif tamper == "expired":
        with make_request() as request:
            request.dbsession.execute(update(EmailChange).values(
                expires_at=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)))
    elif tamper == "other_request":
        change(customer_app, "newer@example.com")
    else:
        customer_app.post_json("/api/auth/password/change/", {"old_password": auth.password,
                                                              "new_password": "lantern-orbit-77"}, status=204)

    response = testapp.post_json(CONFIRM, body, status=400)

    assert auth.fields(response) == {"token": "The link is invalid or has expired."}
    assert stored_email(make_request, customer_app.user_id) == "customer@example.com"


def test_a_taken_address_gets_the_same_answer_as_a_free_one_and_only_a_notice(customer_app, make_user, events):
    make_user("mary", email="mary@example.com")

    taken = change(customer_app, "MARY@example.com")
    free = change(customer_app, "free@example.com")

    assert (taken.status_int, taken.json) == (free.status_int, free.json)
    assert [type(event) for event in events] == [EmailChangeAddressTaken, EmailChangeRequested]
    assert events[0].new_email == "MARY@example.com"


def test_a_change_of_case_only_takes_effect_at_once_with_the_password(customer_app, auth, events):
    customer_app.patch_json(ME, {"email": "Customer@example.com"}, status=400)
    assert change(customer_app, "Customer@example.com").json["email"] == "Customer@example.com"
    assert not of_type(events, EmailChangeRequested)


def test_email_changes_are_rate_limited_per_account(make_app, make_user, auth, token_for):
    app = make_app(**{"shopcore.accounts.rate.email_change_account": "2/hour"})
    user_id = make_user("rita")
    headers = auth.bearer(token_for(user_id)["access"])
    for number in range(2):
        app.patch_json(ME, {"email": f"rita{number}@example.com", "current_password": auth.password}, headers=headers)
    response = app.patch_json(ME, {"email": "rita9@example.com", "current_password": auth.password},
                              headers=headers, expect_errors=True)
    assert response.status_int == 429 and int(response.headers["Retry-After"]) >= 1
    # Names are not limited.
    app.patch_json(ME, {"first_name": "Rita"}, headers=headers, status=200)


def test_email_changes_are_rate_limited_per_client_address(make_app, make_user, auth, token_for):
    app = make_app(**{"shopcore.accounts.rate.email_change_ip": "2/hour"})
    for number in range(2):
        user_id = make_user(f"probe{number}")
        app.patch_json(ME, {"email": "someone@example.com", "current_password": auth.password},
                       headers=auth.bearer(token_for(user_id)["access"]))
    user_id = make_user("probe9")
    response = app.patch_json(ME, {"email": "someone@example.com", "current_password": auth.password},
                              headers=auth.bearer(token_for(user_id)["access"]), expect_errors=True)
    assert response.status_int == 429


def test_the_undo_link_restores_the_old_address_and_ends_every_session(customer_app, testapp, make_request, events,
                                                                       auth):
    refresh = auth.login(testapp, "customer").json["refresh"]
    change(customer_app, "thief@example.com")
    [requested] = of_type(events, EmailChangeRequested)
    testapp.post_json(CONFIRM, link_body(requested), status=204)
    testapp.post_json("/api/auth/password/reset/", {"email": "thief@example.com"}, status=200)
    [changed] = of_type(events, EmailChanged)

    answer = testapp.post_json(UNDO, link_body(changed, "undo_token"), status=200)

    assert "every login session has ended" in answer.json["detail"]
    assert stored_email(make_request, customer_app.user_id) == "customer@example.com"
    customer_app.get(ME, status=401)
    testapp.post_json("/api/auth/refresh/", {"refresh": refresh}, status=401)
    [undone] = of_type(events, EmailChangeUndone)
    assert (undone.email, undone.username) == ("customer@example.com", "customer")
    with make_request() as request:
        # The reset link mailed to the intruder's address is spent.
        assert all(reset.used_at is not None for reset in request.dbsession.scalars(select(PasswordReset)))
    assert len(of_type(events, PasswordResetRequested)) == 1
    again = testapp.post_json(UNDO, link_body(changed, "undo_token"), status=400)
    assert auth.fields(again) == {"token": "The link is invalid or has expired."}


def test_undo_of_the_first_change_also_voids_the_undo_link_of_a_later_one(customer_app, testapp, make_request,
                                                                         events, auth, token_for):
    change(customer_app, "thief1@example.com")
    testapp.post_json(CONFIRM, link_body(of_type(events, EmailChangeRequested)[0]), status=204)
    change(customer_app, "thief2@example.com")
    testapp.post_json(CONFIRM, link_body(of_type(events, EmailChangeRequested)[1]), status=204)
    first, second = of_type(events, EmailChanged)
    assert (first.old_email, second.old_email) == ("customer@example.com", "thief1@example.com")

    testapp.post_json(UNDO, link_body(first, "undo_token"), status=200)
    testapp.post_json(UNDO, link_body(second, "undo_token"), status=400)

    assert stored_email(make_request, customer_app.user_id) == "customer@example.com"


def test_an_expired_undo_link_is_refused(customer_app, testapp, make_request, events, auth):
    change(customer_app, "new@example.com")
    testapp.post_json(CONFIRM, link_body(of_type(events, EmailChangeRequested)[0]), status=204)
    with make_request() as request:
        request.dbsession.execute(update(EmailChange).values(
            undo_expires_at=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)))
    testapp.post_json(UNDO, link_body(of_type(events, EmailChanged)[0], "undo_token"), status=400)
    assert stored_email(make_request, customer_app.user_id) == "new@example.com"


def test_an_address_taken_before_confirmation_is_not_given_away(customer_app, testapp, make_request, make_user,
                                                               events, auth):
    change(customer_app, "contested@example.com")
    make_user("early", email="contested@example.com")
    response = testapp.post_json(CONFIRM, link_body(of_type(events, EmailChangeRequested)[0]), status=400)
    assert auth.fields(response) == {"token": "Another account has taken this address meanwhile."}
    assert stored_email(make_request, customer_app.user_id) == "customer@example.com"


@pytest.mark.parametrize("path", [CONFIRM, UNDO])
def test_link_endpoints_are_rate_limited_per_client_address(make_app, path):
    app = make_app(**{"shopcore.accounts.rate.email_confirm_ip": "2/hour"})
    body = {"uid": "MQ", "token": "guess"}
    assert [app.post_json(path, body, expect_errors=True).status_int for _ in range(2)] == [400, 400]
    assert app.post_json(path, body, expect_errors=True).status_int == 429
