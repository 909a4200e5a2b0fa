"""Composing the mails: subject, plain-text and HTML parts from Jinja2 templates a deployment may override.

Each mail `<name>` has `<name>.subject.txt`, `<name>.txt` and `<name>.html`. A folder given in
`shopcore.notifications.template_dir` is searched first, so a deployment overrides any of them (or
`base.html`, the HTML layout) by dropping a file of the same name there.
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape

from shopcore.clock import utcnow


def template_environment(template_dir: str = "") -> Environment:
    loaders = [FileSystemLoader(template_dir)] if template_dir else []
    loaders.append(PackageLoader("shopcore_notifications", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        # A misspelt variable fails the job (and is retried, then dead-lettered) instead of mailing a blank.
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        # Block tags leave no blank lines behind in the plain-text parts.
        trim_blocks=True,
        lstrip_blocks=True,
    )


class MailComposer:
    def __init__(self, environment: Environment, *, shop_name: str, sender: str, base_url: str):
        self.environment = environment
        self.shop_name = shop_name
        self.sender = sender
        self.base_url = base_url.rstrip("/")

    def compose(self, name: str, payload: dict, message_key: str) -> EmailMessage:
        context = {"shop_name": self.shop_name, "base_url": self.base_url, **payload}
        render = lambda suffix: self.environment.get_template(f"{name}.{suffix}").render(context)  # noqa: E731
        subject = " ".join(render("subject.txt").split())
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = formataddr((self.shop_name, self.sender))
        message["To"] = payload["to"]
        message["Date"] = format_datetime(utcnow())
        # The same job always gets the same Message-ID, so a mail client can tell a repeat for what it is.
        domain = self.sender.rpartition("@")[2] or "shopcore.invalid"
        message["Message-ID"] = f"<{message_key}@{domain}>"
        message.set_content(render("txt"))
        message.add_alternative(render("html"), subtype="html")
        return message
