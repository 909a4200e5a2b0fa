"""The mails of an e-mail change (issue 21, points 1 and 5): a confirmation link to the new address, a
notice to a taken one, an undo link to the old address, and word once it is undone; none on rollback."""
import re

import pytest
import webtest
from sqlalchemy import select

from shopcore.accounts.events import EmailChangeAddressTaken, EmailChanged, EmailChangeRequested, EmailChangeUndone
from shopcore.messaging.models import DONE, OutboxMessage
from shopcore.testing import request_context

PASSWORD = "a long passphrase 42"
LINK = re.compile(r"https://shop\.test\.example/email/(confirm|undo)/\?uid=([^&\s]+)&token=([^&\s]+)")


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def outbox(registry):
    with registry["shopcore.dbsession_factory"]() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind.startswith("mail."))))


def test_the_confirmation_mail_goes_to_the_new_address_with_the_link(mail_app, smtp_server):
    registry = mail_app()
    link = "https://shop.test.example/email/confirm/?uid=MQ&token=tok-en_1"
    with request_context(registry) as request:
        request.notify(EmailChangeRequested(user_id=1, username="bob", old_email="bob@example.com",
                                            new_email="bob@new.example", uid="MQ", token="tok-en_1", link=link))
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "bob@new.example"
    assert message["Subject"] == "Confirm your new Test Shop e-mail address"
    text, html = parts(message)
    assert link in text and 'the Test Shop account "bob"' in text and "nothing changes" in text
    assert 'href="https://shop.test.example/email/confirm/?uid=MQ&amp;token=tok-en_1"' in html
    [row] = outbox(registry)
    assert row.status == DONE and row.payload == {}  # the token does not stay stored


def test_a_taken_address_gets_a_notice_without_any_link(mail_app, smtp_server):
    registry = mail_app()
    with request_context(registry) as request:
        request.notify(EmailChangeAddressTaken(user_id=1, new_email="mary@example.com"))
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "mary@example.com"
    assert message["Subject"] == "Your e-mail address was entered at Test Shop"
    text, _html = parts(message)
    assert "nothing was changed" in text and "token=" not in text


def test_the_old_address_is_told_of_the_change_with_an_undo_link(mail_app, smtp_server):
    registry = mail_app()
    undo = "https://shop.test.example/email/undo/?uid=MQ&token=und-o_2"
    with request_context(registry) as request:
        request.notify(EmailChanged(user_id=1, username="bob", old_email="bob@example.com",
                                    new_email="bob@new.example", uid="MQ", undo_token="und-o_2", undo_link=undo))
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "bob@example.com"
    assert message["Subject"] == "The e-mail address of your Test Shop account was changed"
    text, html = parts(message)
    assert "is now bob@new.example" in text and undo in text and "log everyone out" in text
    assert 'href="https://shop.test.example/email/undo/?uid=MQ&amp;token=und-o_2"' in html
    [row] = outbox(registry)
    assert row.status == DONE and row.payload == {}


def test_the_restored_address_is_told_to_choose_a_new_password(mail_app, smtp_server):
    registry = mail_app()
    with request_context(registry) as request:
        request.notify(EmailChangeUndone(user_id=1, username="bob", email="bob@example.com"))
    [message] = smtp_server.wait_for(1)
    assert (message["To"], message["Subject"]) == ("bob@example.com", "Your Test Shop e-mail address is back")
    assert "Choose a new password now" in parts(message)[0]


def test_a_rolled_back_request_sends_none_of_them(mail_app, smtp_server):
    registry = mail_app()
    with pytest.raises(RuntimeError):
        with request_context(registry) as request:
            request.notify(EmailChangeRequested(user_id=1, username="bob", old_email="bob@example.com",
                                                new_email="bob@new.example", uid="MQ", token="t", link="x"))
            request.notify(EmailChangeAddressTaken(user_id=1, new_email="mary@example.com"))
            request.notify(EmailChanged(user_id=1, username="bob", old_email="bob@example.com",
                                        new_email="bob@new.example", uid="MQ", undo_token="u", undo_link="y"))
            request.notify(EmailChangeUndone(user_id=1, username="bob", email="bob@example.com"))
            raise RuntimeError("the request failed after its events")
    # Something committed afterwards is mailed, so the server was listening all along.
    with request_context(registry) as request:
        request.notify(EmailChangeUndone(user_id=2, username="zoe", email="zoe@example.com"))
    assert [message["To"] for message in smtp_server.wait_for(1)] == ["zoe@example.com"]
    assert len(outbox(registry)) == 1


def test_the_whole_change_through_the_endpoints_and_the_mailed_links(mail_app, smtp_server):
    registry = mail_app()
    app = webtest.TestApp(registry["shopcore.test_wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    app.post_json("/api/auth/register/", {"username": "kim", "email": "kim@example.com", "password": PASSWORD})
    app.post_json("/api/auth/register/", {"username": "lee", "email": "lee@example.com", "password": PASSWORD})
    access = app.post_json("/api/auth/login/", {"username": "kim", "password": PASSWORD}).json["access"]
    bearer = {"Authorization": f"Bearer {access}"}
    smtp_server.wait_for(2)  # the welcome mails

    taken = app.patch_json("/api/auth/user/", {"email": "lee@example.com", "current_password": PASSWORD},
                           headers=bearer)
    free = app.patch_json("/api/auth/user/", {"email": "kim@new.example", "current_password": PASSWORD},
                          headers=bearer)
    assert taken.json == free.json and free.json["email"] == "kim@example.com"
    notice, confirmation = smtp_server.wait_for(4)[2:]
    assert notice["To"] == "lee@example.com" and "token=" not in parts(notice)[0]
    assert confirmation["To"] == "kim@new.example"

    kind, uid, token = LINK.search(parts(confirmation)[0]).groups()
    assert kind == "confirm"
    app.post_json("/api/auth/email/confirm/", {"uid": uid, "token": token}, status=204)
    assert app.get("/api/auth/user/", headers=bearer).json["email"] == "kim@new.example"
    changed = smtp_server.wait_for(5)[4]
    assert changed["To"] == "kim@example.com"

    kind, uid, token = LINK.search(parts(changed)[0]).groups()
    assert kind == "undo"
    app.post_json("/api/auth/email/undo/", {"uid": uid, "token": token}, status=200)
    undone = smtp_server.wait_for(6)[5]
    assert undone["To"] == "kim@example.com"
    app.get("/api/auth/user/", headers=bearer, status=401)
    assert all(row.payload == {} for row in outbox(registry)
               if row.kind in ("mail.email_change_confirm", "mail.email_changed"))
