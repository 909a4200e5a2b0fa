"""Messaging fixtures: real SMTP server, real brokers, apps with real commits (see shopcore.messaging.testing)."""
from shopcore.messaging.testing import broker_url, messaging_app, smtp_server, unique_queue  # noqa: F401
