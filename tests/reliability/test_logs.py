"""No passwords, tokens or reset links in the logs: every log record (and anything printed) during a
whole account life is searched for each secret that passed through the app.

Registration, a wrong and a right login, an authenticated request, a refresh and the reuse of a spent
refresh token, a password change, a reset by mail and its confirmation (twice), a forged token and a
logout, with request logs in text and in JSON. Records of the test's own SMTP server are left out.
"""
from __future__ import annotations

import logging
import re

import pytest
import webtest

FIRST, SECOND, THIRD = "first secret passphrase 1", "second secret passphrase 2", "third secret passphrase 3"
WRONG = "wrong guess passphrase 0"
TEST_INFRASTRUCTURE = ("mail.log", "asyncio")


def secrets_of(token: str) -> list[str]:
    """A token, and its payload and signature alone (a log that cut it in pieces would still leak it)."""
    _header, payload, signature = token.split(".")
    return [token, payload, signature]


def logged_text(records) -> str:
    formatter = logging.Formatter()
    parts = []
    for record in records:
        if record.name.startswith(TEST_INFRASTRUCTURE):
            continue
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
    return "\n".join(parts)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_account_life_leaves_no_secret_in_the_logs(messaging_app, smtp_server, fast_settings, caplog, capfd,
                                                      log_format):
    registry = messaging_app(**{**smtp_server.settings(), **fast_settings, "shopcore.log.format": log_format})
    app = webtest.TestApp(registry["shopcore.test_wsgi_app"], extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    secrets = [FIRST, SECOND, THIRD, WRONG]
    caplog.set_level(logging.DEBUG)

    app.post_json("/api/auth/register/", {"username": "logan", "email": "logan@example.com", "password": FIRST},
                  status=201)
    app.post_json("/api/auth/login/", {"username": "logan", "password": WRONG}, status=401)
    first = app.post_json("/api/auth/login/", {"username": "logan", "password": FIRST}).json
    bearer = {"Authorization": f"Bearer {first['access']}"}
    app.get("/api/auth/user/", headers=bearer)
    second = app.post_json("/api/auth/refresh/", {"refresh": first["refresh"]}).json
    app.post_json("/api/auth/refresh/", {"refresh": first["refresh"]}, status=401)  # spent: ends the session
    third = app.post_json("/api/auth/login/", {"username": "logan", "password": FIRST}).json
    app.post_json("/api/auth/password/change/", {"old_password": FIRST, "new_password": SECOND},
                  headers={"Authorization": f"Bearer {third['access']}"}, status=204)
    fourth = app.post_json("/api/auth/login/", {"username": "logan", "password": SECOND}).json

    app.post_json("/api/auth/password/reset/", {"email": "logan@example.com"})
    reset_mail = next(message for message in smtp_server.wait_for(2) if "uid=" in message.get_body(
        ("plain",)).get_content())
    uid, reset_token = re.search(r"[?&]uid=([^&\s]+)&token=([^&\s]+)", reset_mail.get_body(("plain",)).get_content()).groups()
    confirm = {"uid": uid, "token": reset_token, "new_password": THIRD}
    app.post_json("/api/auth/password/reset/confirm/", confirm, status=204)
    app.post_json("/api/auth/password/reset/confirm/", confirm, status=400)  # used once already

    forged = fourth["access"][:-4] + ("AAAA" if not fourth["access"].endswith("AAAA") else "BBBB")
    app.get("/api/auth/user/", headers={"Authorization": f"Bearer {forged}"}, status=401)
    fifth = app.post_json("/api/auth/login/", {"username": "logan", "password": THIRD}).json
    app.post("/api/auth/logout/", headers={"Authorization": f"Bearer {fifth['access']}"}, status=204)

    secrets.append(reset_token)
    secrets.append(forged)
    for pair in (first, second, third, fourth, fifth):
        for token in pair.values():
            secrets.extend(secrets_of(token))
    printed = capfd.readouterr()
    logged = logged_text(caplog.records)
    # The request log was captured (text, or JSON as orjson writes it, without spaces).
    assert "POST /api/auth/login/" in logged or '"route":"auth_login"' in logged
    for secret in secrets:
        assert secret not in logged, f"a secret is in the logs: {secret[:12]}..."
        assert secret not in printed.out and secret not in printed.err, f"a secret was printed: {secret[:12]}..."
