"""The notifications plugin's test kit (a pytest plugin, loaded by this package's `pytest11` entry point):
a real SMTP server in the test process for the mail the shop sends.

- `smtp_server`: an aiosmtpd server on 127.0.0.1 (a free port) recording every message it accepts
  (`messages`, `wait_for(count)`); `refuse(times, answer)` makes it refuse the next messages with a
  temporary (451) or permanent (550) answer; `settings()` are the app settings that send to it.
- `start_smtp_server(handler=None, **controller_options)`: one of your own (TLS, a slow handler, ...);
  stop it with `server.controller.stop()`.
"""
from __future__ import annotations

import asyncio
import threading
from collections import deque
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from shopcore.testing.messaging import DEFAULT_WAIT

__all__ = ["RecordingHandler", "SmtpServer", "smtp_server", "start_smtp_server"]


class RecordingHandler:
    """aiosmtpd handler: keeps every accepted message; refuses while refusals are queued."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes = []
        self.refusals: deque[str] = deque()
        self.refused = 0
        self.data_started = threading.Event()
        self.delay = 0.0
        self.condition = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        self.data_started.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.condition:
            if self.refusals:
                self.refused += 1
                return self.refusals.popleft()
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.condition.notify_all()
        return "250 2.0.0 OK"


class SmtpServer:
    def __init__(self, controller, handler: RecordingHandler):
        self.controller = controller
        self.handler = handler

    @property
    def host(self) -> str:
        return self.controller.hostname

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.condition:
            return list(self.handler.messages)

    def refuse(self, times: int, answer: str = "451 4.3.0 Try again later") -> None:
        with self.handler.condition:
            self.handler.refusals.extend([answer] * times)

    def wait_for(self, count: int, timeout: float = DEFAULT_WAIT) -> list[EmailMessage]:
        with self.handler.condition:
            if not self.handler.condition.wait_for(lambda: len(self.handler.messages) >= count, timeout):
                pytest.fail(f"SMTP server got {len(self.handler.messages)} message(s), expected {count} "
                            f"within {timeout} s")
            return list(self.handler.messages)

    def settings(self) -> dict:
        return {"shopcore.mail.backend": "smtp", "shopcore.mail.host": self.host,
                "shopcore.mail.port": str(self.port), "shopcore.mail.security": "none",
                "shopcore.notifications.smtp_timeout": "5"}


def start_smtp_server(handler: RecordingHandler | None = None, **kwargs) -> SmtpServer:
    from aiosmtpd.controller import Controller

    class RandomPortController(Controller):
        def _trigger_server(self):
            # Port 0 lets the system choose a free port; learn it before connecting.
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    handler = handler or RecordingHandler()
    controller = RandomPortController(handler, hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    return SmtpServer(controller, handler)


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (a free port), recording what it accepts, stopped after the test."""
    server = start_smtp_server()
    yield server
    server.controller.stop()
