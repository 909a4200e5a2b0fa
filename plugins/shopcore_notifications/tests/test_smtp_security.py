"""SMTP over STARTTLS and implicit TLS with a login, against aiosmtpd with a certificate made for the test."""
import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.smtp import AuthResult

from shopcore.accounts.events import UserRegistered
from shopcore.messaging.outbox import outbox_status
from shopcore_notifications.testing import start_smtp_server
from shopcore.testing import request_context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def outbox_rows(registry):
    from sqlalchemy import select

    from shopcore.messaging.models import OutboxMessage

    with registry["shopcore.dbsession_factory"]() as session:
        return list(session.scalars(select(OutboxMessage)))


class Credentials:
    def __init__(self):
        self.seen = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        encrypted = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.seen.append((mechanism, auth_data.login, auth_data.password, encrypted))
        # handled=False: aiosmtpd itself answers a failure with 535.
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"mailer", b"s3cret pass"), handled=False)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_mail_is_sent_over_tls_with_a_login(mail_app, certificate, security):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    credentials = Credentials()
    if security == "starttls":
        tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    else:
        # aiosmtpd's auth_require_tls only knows STARTTLS; this connection is TLS from its first byte.
        tls = {"ssl_context": context, "auth_require_tls": False}
    server = start_smtp_server(authenticator=credentials, **tls)
    try:
        registry = mail_app(**{**server.settings(), "shopcore.mail.security": security,
                               "shopcore.mail.user": "mailer", "shopcore.mail.password": "s3cret pass",
                               "shopcore.notifications.smtp_ca_file": str(cert)})
        with request_context(registry) as request:
            request.notify(UserRegistered(user_id=1, username="ivy", email="ivy@example.com"))
        [message] = server.wait_for(1)
    finally:
        server.controller.stop()
    assert message["To"] == "ivy@example.com"
    [(mechanism, login, _password, encrypted)] = credentials.seen
    assert login == b"mailer" and encrypted


def test_a_wrong_password_is_not_accepted(mail_app, certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = start_smtp_server(authenticator=Credentials(), auth_require_tls=False, ssl_context=context)
    try:
        registry = mail_app(**{**server.settings(), "shopcore.mail.security": "ssl",
                               "shopcore.mail.user": "mailer", "shopcore.mail.password": "wrong",
                               "shopcore.notifications.smtp_ca_file": str(cert)})
        with request_context(registry) as request:
            request.notify(UserRegistered(user_id=1, username="jo", email="jo@example.com"))
    finally:
        server.controller.stop()
    assert server.messages == []
    status = outbox_status(registry)
    assert status.pending == 1  # kept for a retry: credentials are fixed by configuration, not by the mail
    [row] = outbox_rows(registry)
    assert row.last_error.startswith("SMTPAuthenticationError: (535")


# --- no login in clear (issue 21, point 11) ----------------------------------------------------------------

def tls_server(certificate, **kwargs):
    """An SMTP server offering STARTTLS that would also take a login in clear (as many do)."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    credentials = Credentials()
    server = start_smtp_server(authenticator=credentials, tls_context=context, require_starttls=False,
                               auth_require_tls=False, **kwargs)
    return server, credentials


def without_security(settings: dict) -> dict:
    return {**settings, "shopcore.mail.security": None}  # None: the default


LOGIN = {"shopcore.mail.user": "mailer", "shopcore.mail.password": "s3cret pass"}


def test_the_login_goes_over_starttls_when_no_security_is_configured(mail_app, certificate):
    server, credentials = tls_server(certificate)
    try:
        registry = mail_app(**{**without_security(server.settings()), **LOGIN,
                               "shopcore.notifications.smtp_ca_file": str(certificate[0])})
        assert registry.settings["shopcore.mail.security"] == "starttls"
        with request_context(registry) as request:
            request.notify(UserRegistered(user_id=1, username="kim", email="kim@example.com"))
        [message] = server.wait_for(1)
    finally:
        server.controller.stop()
    assert message["To"] == "kim@example.com"
    [(_mechanism, login, password, encrypted)] = credentials.seen
    assert (login, password, encrypted) == (b"mailer", b"s3cret pass", True)


def test_a_server_without_starttls_gets_no_login_and_no_mail(mail_app):
    """STARTTLS is required, not opportunistic: no fallback to a login in clear."""
    credentials = Credentials()
    server = start_smtp_server(authenticator=credentials, auth_require_tls=False)
    try:
        registry = mail_app(**{**without_security(server.settings()), **LOGIN})
        with request_context(registry) as request:
            request.notify(UserRegistered(user_id=1, username="lee", email="lee@example.com"))
    finally:
        server.controller.stop()
    assert server.messages == [] and credentials.seen == []
    [row] = outbox_rows(registry)
    assert row.last_error.startswith("SMTPNotSupportedError")
    assert outbox_status(registry).pending == 1  # kept for a retry once the server is fixed


def test_a_login_without_tls_is_refused_at_start_up_naming_the_setting(mail_app, smtp_server):
    from shopcore.settings import SettingsError

    with pytest.raises(SettingsError, match=r"^setting shopcore\.mail\.security: none would send the SMTP user "
                                            r"and password in clear"):
        mail_app(**{**smtp_server.settings(), **LOGIN})
    with pytest.raises(SettingsError, match=r"^setting shopcore\.mail\.security"):
        mail_app(**{**smtp_server.settings(), "shopcore.mail.password": "only a password"})


def test_a_login_in_clear_only_when_explicitly_allowed(mail_app):
    credentials = Credentials()
    server = start_smtp_server(authenticator=credentials, auth_require_tls=False)
    try:
        registry = mail_app(**{**server.settings(), **LOGIN, "shopcore.mail.allow_insecure_login": "true"})
        with request_context(registry) as request:
            request.notify(UserRegistered(user_id=1, username="max", email="max@example.com"))
        [message] = server.wait_for(1)
    finally:
        server.controller.stop()
    assert message["To"] == "max@example.com"
    [(_mechanism, login, _password, encrypted)] = credentials.seen
    assert login == b"mailer" and not encrypted


def test_a_mailer_made_by_hand_refuses_a_login_in_clear():
    from shopcore_notifications.mailers import SmtpMailer

    with pytest.raises(ValueError, match="in clear"):
        SmtpMailer(host="127.0.0.1", port=25, user="mailer", password="x", security="none")
    assert SmtpMailer(host="127.0.0.1", port=25, user="mailer", password="x").security == "starttls"
