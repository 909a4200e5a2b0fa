"""Webhook signatures: `X-Shopcore-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`.

During a secret rotation's overlap the header carries one signature per secret, newest first,
separated by commas (`sha256=<new>, sha256=<old>`): a receiver that knows either secret accepts it.
`verify` is what a receiver does (the README shows it as a standalone snippet), and the tests use it.
"""
from __future__ import annotations

import hashlib
import hmac
import time

DEFAULT_TOLERANCE = 300  # seconds: older (or later) timestamps are refused as replays


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: str, body: bytes) -> str:
    return ", ".join(f"sha256={signature(secret, timestamp, body)}" for secret in secrets)


def verify(secret: str, header: str, timestamp: str, body: bytes, tolerance: float = DEFAULT_TOLERANCE,
           now: float | None = None) -> bool:
    """True when `header` holds a signature of `body` at `timestamp` by `secret`, and the timestamp is recent."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError:
        return False
    if abs(age) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(part.strip().removeprefix("sha256="), expected)
               for part in header.split(",") if part.strip().startswith("sha256="))
