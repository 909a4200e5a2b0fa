"""Where webhooks may go, and the HTTP client that takes them there.

Safety against server-side request forgery, in two places:

- `check_url` when a subscription is made or changed: http or https, a host, no user name or password,
  no fragment, at most 2,000 characters; a literal address or `localhost` that is loopback, private,
  link-local (the cloud metadata services at 169.254.169.254 and fd00:ec2::254 among them), shared
  (100.64.0.0/10), multicast or reserved is refused. Names are not resolved here: what a name
  resolves to may change, and the fuzzing and tests must not ask outside resolvers.
- `GuardedBackend`, at every connection: the host is resolved, every address it resolves to is checked
  with the same rule, and the connection goes to the checked address (never to a second resolution
  an attacker's DNS could answer differently). TLS still verifies the certificate for the URL's host.

Unless `shopcore.apps.webhook_allow_private_targets` is on (development and tests), which allows every
address. Redirects are never followed (httpcore follows none: a 3xx is a failed try); the body sent and
the response read are bounded; each delivery has one deadline (`webhook_timeout`) for connecting,
sending and reading together, enforced on every network operation.
"""
from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore

MAX_URL_LENGTH = 2000
USER_AGENT = "shopcore-webhooks/1.0"
RESPONSE_EXCERPT = 500


class TargetRefused(httpcore.ConnectError):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global excludes loopback, private, link-local, shared (CGNAT), reserved and documentation ranges.
    return ip.is_global and not ip.is_multicast


def check_url(url: str, allow_private: bool) -> str | None:
    """Why `url` cannot receive webhooks, or None when it can (as far as can be told without DNS)."""
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters"
    if any(ord(character) < 33 or ord(character) == 127 or 0xD800 <= ord(character) <= 0xDFFF for character in url):
        return "no spaces, control characters or lone surrogates"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    host = parts.hostname
    if not host:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.fragment:
        return "must not have a fragment (#...)"
    if port == 0:
        return "port 0 is not a port"
    if allow_private:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "must not be a loopback, private, link-local or metadata address"
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address_allowed(str(literal)):
        return "must not be a loopback, private, link-local or metadata address"
    return None


class Deadline(threading.local):
    """The current delivery's deadline (monotonic), per thread: every network operation gets what is left."""

    at: float = float("inf")

    def remaining(self, timeout: float | None) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the receiver did not answer within the timeout")
        return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline):
        self.stream, self.deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self.deadline.remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self.deadline.remaining(timeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, self.deadline.remaining(timeout)),
                              self.deadline)

    def get_extra_info(self, info: str):
        return self.stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks every address, and connects to a checked one (see the module's docstring)."""

    def __init__(self, allow_private: bool, deadline: Deadline):
        self.allow_private, self.deadline = allow_private, deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = self.deadline.remaining(timeout)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if not self.allow_private:
            refused = [address for address in addresses if not address_allowed(address)]
            if refused:
                raise TargetRefused(f"{host} resolves to {refused[0]}, a loopback, private, link-local or "
                                    "metadata address")
        last_error: Exception | None = None
        for address in addresses:
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last_error = exc
                continue
            return DeadlineStream(stream, self.deadline)
        raise last_error or httpcore.ConnectError(f"{host} has no address")


@dataclass(frozen=True)
class Answer:
    """What one try got: the status (None when there was no answer) and what went wrong, if anything."""

    status: int | None
    error: str | None
    excerpt: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSender:
    """One connection pool per process (kept-alive connections to each receiver), used by the worker."""

    def __init__(self, timeout: float, max_response_bytes: int, allow_private: bool):
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.deadline = Deadline()
        self.pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(), max_connections=100, max_keepalive_connections=50,
            keepalive_expiry=30.0, retries=0, network_backend=GuardedBackend(allow_private, self.deadline),
            # Headers and body go out as two writes; without this, Nagle's algorithm holds the second
            # until the receiver's delayed ACK (40 ms on Linux): 20 deliveries a second instead of hundreds.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        self.deadline.at = time.monotonic() + self.timeout
        timeouts = {name: self.timeout for name in ("connect", "read", "write", "pool")}
        request_headers = [("Content-Type", "application/json"), ("User-Agent", USER_AGENT),
                           *headers.items(), ("Content-Length", str(len(body)))]
        try:
            with self.pool.stream("POST", url, headers=request_headers, content=body,
                                  extensions={"timeout": timeouts}) as response:
                excerpt = self._read_bounded(response)
                status = response.status
        except TargetRefused as exc:
            return Answer(None, f"refused: {exc}")
        except httpcore.TimeoutException:
            return Answer(None, f"no answer within {self.timeout:g} s")
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)
        finally:
            self.deadline.at = float("inf")
        if 200 <= status < 300:
            return Answer(status, None, excerpt)
        if 300 <= status < 400:
            location = next((v.decode("latin-1") for k, v in response.headers if k.lower() == b"location"), "")
            return Answer(status, f"redirect to {location[:200]!r} not followed", excerpt)
        return Answer(status, f"answered {status}", excerpt)

    def _read_bounded(self, response) -> str:
        received = bytearray()
        for chunk in response.iter_stream():
            received += chunk
            if len(received) >= self.max_response_bytes:
                break  # the rest is not waited for; the connection is dropped, not reused
        return bytes(received[:RESPONSE_EXCERPT]).decode("utf-8", "replace")

    def close(self) -> None:
        self.pool.close()
