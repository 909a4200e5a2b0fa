"""Deprecated since contract 2.0: the messaging test helpers moved into shopcore's test kit.

Their fixtures (`broker_url`, `unique_queue`, `messaging_app`) are registered by the kit itself (no
import needed); import the helpers from `shopcore.testing.messaging` (`WorkerThread`, `wait_until`,
`write_ini`, `worker_command`, `worker_environment`). The SMTP server is the notifications plugin's
(`shopcore_notifications.testing`: `smtp_server`, `start_smtp_server`). This module goes in 3.0.
"""
import warnings

from shopcore.testing.messaging import *  # noqa: F401,F403
from shopcore.testing.messaging import __all__ as _moved

warnings.warn("shopcore.messaging.testing is deprecated: use shopcore.testing.messaging (and "
              "shopcore_notifications.testing for the SMTP server)", DeprecationWarning, stacklevel=2)

_SMTP = ("RecordingHandler", "SmtpServer", "smtp_server", "start_smtp_server")
__all__ = list(_moved)


def __getattr__(name):
    # The SMTP helpers lived here in 1.x; they are the notifications plugin's now.
    if name in _SMTP:
        from shopcore_notifications import testing

        return getattr(testing, name)
    raise AttributeError(name)
