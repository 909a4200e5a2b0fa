"""Rate limits for logins, resets and registrations (`limits`), counted in Redis when one is configured.

Counting in Redis makes a limit hold across every web process; without Redis each process counts
for itself (development). When Redis is unreachable the limits let requests through and log it, so
an outage of the cache never locks customers out.

A limit may have tiers (`5/15minutes;20/day`): an attempt is allowed only while every tier has room,
and is then counted in each, so a client that keeps failing waits longer and longer (the progressive
delay of the login limits).
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time

from limits import parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from shopcore.errors import TooManyRequests

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5


class RateLimits:
    """Named limits (`login_ip`, `login_account`, ...), each counted per identifier.

    One instance per app (`registry["shopcore.accounts.rate_limits"]`); plugins add their own named
    limits to it with `add_rate` (`coupons.apply_user`, `orders.checkout_user`), so every limit shares
    the storage, its outage policy and the tests' reset.
    """

    def __init__(self, rates: dict[str, str], redis_url: str = ""):
        self.rates = {name: parse_many(rate) for name, rate in rates.items()}
        if redis_url:
            self.storage = storage_from_string(
                redis_url, key_prefix="shopcore:ratelimit",
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS)
        else:
            self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    def add_rate(self, name: str, rate: str) -> None:
        """Define one more named limit (a plugin's, at configuration time)."""
        if name in self.rates:
            raise ValueError(f"rate limit {name!r} is already defined")
        self.rates[name] = parse_many(rate)

    def hit(self, name: str, identifier: str) -> None:
        """Count one attempt; TooManyRequests (the attempt not counted) once a tier of the limit is spent."""
        key = _key(identifier)
        try:
            spent = [tier for tier in self.rates[name] if not self.limiter.test(tier, name, key)]
            if not spent:
                for tier in self.rates[name]:
                    self.limiter.hit(tier, name, key)
        except Exception as exc:
            log.warning("rate limit %s not counted (allowing): %s: %s", name, type(exc).__name__, exc)
            return
        if spent:
            self._refuse(name, key, spent)

    def check(self, name: str, identifier: str) -> None:
        """TooManyRequests if a tier of the limit is already spent, without counting this attempt."""
        key = _key(identifier)
        try:
            spent = [tier for tier in self.rates[name] if not self.limiter.test(tier, name, key)]
        except Exception as exc:
            log.warning("rate limit %s not checked (allowing): %s: %s", name, type(exc).__name__, exc)
            return
        if spent:
            self._refuse(name, key, spent)

    def clear(self, name: str, identifier: str) -> None:
        try:
            for tier in self.rates[name]:
                self.limiter.clear(tier, name, _key(identifier))
        except Exception as exc:
            log.warning("rate limit %s not cleared: %s: %s", name, type(exc).__name__, exc)

    def reset(self) -> None:
        """Forget every count (tests)."""
        self.storage.reset()

    def _refuse(self, name: str, key: str, spent: list) -> None:
        # The longest wait of the spent tiers: until each has room again.
        retry_after = 1
        for tier in spent:
            try:
                reset_time = self.limiter.get_window_stats(tier, name, key).reset_time
                wait = math.ceil(reset_time - time.time())
            except Exception:
                wait = tier.get_expiry()
            retry_after = max(retry_after, min(wait, tier.get_expiry()))
        raise TooManyRequests("Too many attempts; try again later.", retry_after=retry_after)


def _key(identifier: str) -> str:
    # Hashed so that whatever a client sends makes a short, harmless storage key.
    return hashlib.sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def client_address(request) -> str:
    """The client's address; X-Forwarded-For is believed only as far as it was written by trusted proxies."""
    trusted = request.registry.settings["shopcore.accounts.trusted_proxies"]
    address = request.remote_addr or ""
    if not trusted or address not in trusted:
        return address
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop in trusted:
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return address
    return address


# An IPv6 client usually holds a whole /64 (one customer line, one cloud host), so counting single
# addresses would give it 2**64 fresh allowances.
IPV6_CLIENT_PREFIX = 64


def address_key(address: str) -> str:
    """What per-address limits count: an IPv4 address as it is, an IPv6 address's /64 network."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
    return str(parsed)


def client_ip(request) -> str:
    """The identifier per-address rate limits count for this request's client (see `address_key`)."""
    return address_key(client_address(request))
