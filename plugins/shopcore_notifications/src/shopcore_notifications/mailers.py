"""Mail backends: `.eml` files under a folder (development) or SMTP (smtplib, STARTTLS/SSL, login).

STARTTLS is required, not opportunistic: a server that does not offer it fails the try (smtplib raises)
rather than getting the login in clear.
"""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from shopcore.messaging import PermanentJobError
from shopcore.private_files import make_private_dir, write_private_file

log = logging.getLogger(__name__)


class FileMailer:
    """Writes each mail to `<dir>/<name>.eml`; the same job writes the same file, so a repeat overwrites."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def send(self, message: EmailMessage, name: str) -> Path:
        # Mails carry reset links: the folder and every file are their owner's alone from the start.
        make_private_dir(self.directory)
        path = self.directory / f"{name}.eml"
        partial = path.with_suffix(".eml.part")
        write_private_file(partial, message.as_bytes())
        # A reader never sees half a file.
        os.replace(partial, path)
        log.info("mail %r to %s written to %s", message["Subject"], message["To"], path)
        return path


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    user: str = ""
    password: str = ""
    security: str = "starttls"  # none | starttls | ssl
    timeout: float = 10.0
    ca_file: str = ""  # a private CA to trust; the system's CAs otherwise
    allow_insecure_login: bool = False

    def __post_init__(self):
        # The settings refuse this combination at start-up; a mailer built by hand is held to it too.
        if self.user and self.security == "none" and not self.allow_insecure_login:
            raise ValueError("an SMTP login without TLS sends the password in clear; use starttls or ssl, "
                             "or allow_insecure_login=True")

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def send(self, message: EmailMessage, name: str) -> None:
        try:
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=self._tls_context())
                if self.user:
                    client.login(self.user, self.password)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            if all(code >= 500 for code, _text in exc.recipients.values()):
                raise PermanentJobError(f"recipient refused: {exc.recipients}") from exc
            raise
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code >= 500:
                raise PermanentJobError(f"message refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
            raise
        log.info("mail %r to %s sent through %s:%s", message["Subject"], message["To"], self.host, self.port)
