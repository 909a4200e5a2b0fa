"""Rules without a broker: the retry schedule, the address rule, signatures, event patterns."""
from __future__ import annotations

import socket

import httpcore
import pytest

from shopcore_apps.settings import APPS_SETTINGS, apps_settings
from shopcore_apps.signing import signature_header, verify
from shopcore_apps.targets import Deadline, GuardedBackend, TargetRefused, WebhookSender, address_allowed, check_url
from shopcore_apps.webhooks import event_matches

HOUR = 3600


def default_policy():
    return apps_settings({row.key: row.default for row in APPS_SETTINGS}).retry_policy


def test_the_default_schedule_is_at_least_8_tries_over_at_least_4_hours_whatever_the_jitter():
    policy = default_policy()
    assert policy.max_attempts >= 8
    assert policy.shortest_span() >= 4 * HOUR
    waits = [policy.delay(n) for n in range(1, policy.max_attempts) for _ in range(50)]
    assert min(waits) >= 60 * 0.75 and max(waits) <= 10800 * 1.25
    assert len({round(w, 3) for w in waits[:50]}) > 1  # jittered


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1",
                                     "224.0.0.1", "240.0.0.1"])
def test_loopback_private_link_local_and_metadata_addresses_are_refused(address):
    assert not address_allowed(address)
    host = f"[{address}]" if ":" in address else address
    assert "loopback, private" in check_url(f"https://{host}/hook", allow_private=False)
    assert check_url(f"https://{host}/hook", allow_private=True) is None


@pytest.mark.parametrize("url, problem", [
    ("ftp://example.com/x", "http://"), ("https:///x", "host"), ("https://user:pw@example.com/", "user name"),
    ("https://example.com/#x", "fragment"), ("https://localhost/x", "loopback"), ("https://exa mple.com/", "spaces"),
    ("https://example.com:99999/", "valid"), ("https://" + "a" * 2000 + ".com/", "2000"),
])
def test_bad_urls_are_refused_naming_why(url, problem):
    assert problem in check_url(url, allow_private=False)


def test_public_urls_pass_without_any_lookup():
    assert check_url("https://hooks.example.com/shop?x=1", allow_private=False) is None
    assert address_allowed("93.184.215.14") and address_allowed("2606:2800:21f:cb07:6820:80da:af6b:8b2c")


def test_at_connection_time_a_name_resolving_to_loopback_is_refused_before_connecting(webhook_receiver):
    port = webhook_receiver.server.server_address[1]
    backend = GuardedBackend(allow_private=False, deadline=Deadline())
    with pytest.raises(TargetRefused, match="resolves to 127.0.0.1"):
        backend.connect_tcp("localhost", port)
    sender = WebhookSender(2, 1000, allow_private=False)
    try:
        answer = sender.post(f"http://localhost:{port}/hook", b"{}", {})
    finally:
        sender.close()
    assert answer.status is None and answer.error.startswith("refused:")
    assert webhook_receiver.received == []  # nothing reached it


def test_a_hanging_receiver_costs_one_timeout_and_a_big_answer_is_not_read_whole(webhook_receiver):
    sender = WebhookSender(0.5, 100, allow_private=True)
    try:
        webhook_receiver.hang(1)
        answer = sender.post(webhook_receiver.url, b"{}", {})
        assert answer.status is None and "within 0.5 s" in answer.error
        assert sender.post(webhook_receiver.url, b"{}", {}).succeeded
    finally:
        sender.close()


def test_signatures_verify_with_either_secret_during_an_overlap_and_refuse_old_timestamps():
    body, timestamp = b'{"a":1}', "1786000000"
    header = signature_header(["new-secret", "old-secret"], timestamp, body)
    assert verify("new-secret", header, timestamp, body, now=1786000000)
    assert verify("old-secret", header, timestamp, body, now=1786000000)
    assert not verify("other", header, timestamp, body, now=1786000000)
    assert not verify("new-secret", header, timestamp, body, now=1786000000 + 301)
    assert not verify("new-secret", header, timestamp, body + b" ", now=1786000000)


def test_event_patterns():
    assert event_matches(["order.*"], "order.paid") and event_matches(["*"], "product.deleted")
    assert event_matches(["order.paid"], "order.paid") and not event_matches(["order.paid"], "order.cancelled")
    assert not event_matches(["order.*"], "product.created")


def test_socket_options_keep_nagle_off():
    sender = WebhookSender(1, 100, allow_private=True)
    try:
        assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) in sender.pool._socket_options
    finally:
        sender.close()
    assert issubclass(TargetRefused, httpcore.ConnectError)
