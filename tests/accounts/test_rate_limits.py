"""Rate limits on login, reset and registration: per client address and per account, 429 with Retry-After."""
import time

import pytest

from shopcore.accounts.events import PasswordResetRequested
from shopcore.settings import SettingsError

LOGIN = "/api/auth/login/"
RESET = "/api/auth/password/reset/"
CONFIRM = "/api/auth/password/reset/confirm/"
REGISTER = "/api/auth/register/"
RATE = "shopcore.accounts.rate."


def limited_app(make_app, **rates):
    return make_app(**{RATE + name: rate for name, rate in rates.items()})


def attempt(app, username="john", password="not the password", address="127.0.0.1", **kwargs):
    return app.post_json(LOGIN, {"username": username, "password": password}, expect_errors=True,
                         extra_environ={"REMOTE_ADDR": address}, **kwargs)


def assert_throttled(response, window_seconds: int):
    assert response.status_int == 429
    assert response.json == {"detail": "Too many attempts; try again later."}
    assert 1 <= int(response.headers["Retry-After"]) <= window_seconds


@pytest.fixture
def john(make_user):
    return make_user("john")


def test_login_attempts_are_limited_per_client_address(make_app, john):
    app = limited_app(make_app, login_ip="3/minute")
    statuses = [attempt(app, username=f"user{n}").status_int for n in range(3)]
    assert statuses == [401, 401, 401]

    assert_throttled(attempt(app, username="john", password="correct horse battery"), 60)
    assert attempt(app, username="john", password="correct horse battery", address="10.0.0.2").status_int == 200


def test_failed_logins_pause_the_account_from_every_address_it_has_not_logged_in_from(make_app, john, make_user):
    make_user("mary")
    app = limited_app(make_app, login_account="2/minute")
    assert [attempt(app, address=f"10.0.0.{n}").status_int for n in (1, 2)] == [401, 401]

    assert_throttled(attempt(app, password="correct horse battery", address="10.0.0.3"), 60)
    assert_throttled(attempt(app, username="JOHN", password="correct horse battery", address="10.0.0.3"), 60)
    assert attempt(app, username="mary", password="correct horse battery").status_int == 200


def test_unknown_and_known_accounts_are_paused_alike(make_app, john):
    app = limited_app(make_app, login_account="1/minute")
    attempt(app, username="john")
    attempt(app, username="ghost")
    known, unknown = attempt(app, username="john"), attempt(app, username="ghost")
    assert (known.status_int, known.json) == (unknown.status_int, unknown.json)
    assert_throttled(unknown, 60)


def test_a_successful_login_resets_the_count_of_its_address(make_app, john):
    app = limited_app(make_app, login_account_address="2/minute")
    assert attempt(app).status_int == 401
    assert attempt(app, password="correct horse battery").status_int == 200
    assert attempt(app).status_int == 401
    assert attempt(app).status_int == 401
    assert_throttled(attempt(app, password="correct horse battery"), 60)
    # Another address has a count of its own.
    assert attempt(app, password="correct horse battery", address="10.0.0.8").status_int == 200


def test_limits_lift_when_the_window_has_passed(make_app, john):
    app = limited_app(make_app, login_ip="2/2seconds")
    attempt(app)
    attempt(app)
    assert_throttled(attempt(app), 2)
    time.sleep(2.2)
    assert attempt(app, password="correct horse battery").status_int == 200


def test_wrong_old_passwords_count_as_failed_logins(make_app, auth, john):
    app = limited_app(make_app, login_account="2/minute")
    access = auth.login(app, "john").json["access"]
    body = {"old_password": "guess-guess", "new_password": "lantern-orbit-77"}
    for _ in range(2):
        app.post_json("/api/auth/password/change/", body, headers=auth.bearer(access), status=400)
    response = app.post_json("/api/auth/password/change/", {**body, "old_password": auth.password},
                             headers=auth.bearer(access), expect_errors=True)
    assert_throttled(response, 60)
    # Counted as failed logins: a stolen access token is no second way to guess from a new address.
    assert_throttled(attempt(app, password=auth.password, address="10.0.0.9"), 60)


def test_reset_requests_are_limited_per_email_alike_for_known_and_unknown_ones(make_app, john):
    app = limited_app(make_app, reset_account="2/hour")
    for email in ("john@example.com", "John@example.com", "ghost@example.com", "ghost@example.com"):
        app.post_json(RESET, {"email": email}, status=200)

    known = app.post_json(RESET, {"email": "john@example.com"}, expect_errors=True)
    unknown = app.post_json(RESET, {"email": "ghost@example.com"}, expect_errors=True)

    assert_throttled(known, 3600)
    assert (known.status_int, known.json) == (unknown.status_int, unknown.json)
    app.post_json(RESET, {"email": "someone.else@example.com"}, status=200)


def test_reset_requests_are_limited_per_address(make_app):
    app = limited_app(make_app, reset_ip="3/hour")
    for n in range(3):
        app.post_json(RESET, {"email": f"someone{n}@example.com"}, extra_environ={"REMOTE_ADDR": "10.9.9.9"})
    assert_throttled(app.post_json(RESET, {"email": "fresh@example.com"}, expect_errors=True,
                                   extra_environ={"REMOTE_ADDR": "10.9.9.9"}), 3600)
    app.post_json(RESET, {"email": "fresh@example.com"}, status=200)


def test_reset_confirmations_are_limited_per_address(make_app):
    app = limited_app(make_app, reset_confirm_ip="2/hour")
    body = {"uid": "MQ", "token": "guess", "new_password": "lantern-orbit-77"}
    assert [app.post_json(CONFIRM, body, expect_errors=True).status_int for _ in range(2)] == [400, 400]
    assert_throttled(app.post_json(CONFIRM, body, expect_errors=True), 3600)


def test_registrations_are_limited_per_address(make_app):
    app = limited_app(make_app, register_ip="2/hour")
    for n in range(2):
        app.post_json(REGISTER, {"username": f"new{n}", "email": f"new{n}@example.com",
                                 "password": "lantern-orbit-77"}, status=201)
    response = app.post_json(REGISTER, {"username": "new3", "email": "new3@example.com",
                                        "password": "lantern-orbit-77"}, expect_errors=True)
    assert_throttled(response, 3600)


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_app, john):
    untrusting = limited_app(make_app, login_ip="1/minute")
    attempt(untrusting, headers={"X-Forwarded-For": "203.0.113.1"})
    assert_throttled(attempt(untrusting, headers={"X-Forwarded-For": "203.0.113.2"}), 60)

    behind_proxy = make_app(**{RATE + "login_ip": "1/minute", "shopcore.accounts.trusted_proxies": "127.0.0.1"})
    assert attempt(behind_proxy, headers={"X-Forwarded-For": "203.0.113.1"}).status_int == 401
    assert attempt(behind_proxy, headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.2"}).status_int == 401
    assert_throttled(attempt(behind_proxy, headers={"X-Forwarded-For": "203.0.113.1"}), 60)


def test_counts_are_shared_by_every_process_when_redis_is_configured(make_app, john, redis_url):
    first, second = limited_app(make_app, login_ip="2/minute"), limited_app(make_app, login_ip="2/minute")
    attempt(first)
    attempt(first)
    if redis_url:
        assert_throttled(attempt(second), 60)
    else:
        # Without Redis each process counts for itself (the development default).
        assert attempt(second).status_int == 401
        assert_throttled(attempt(first), 60)


@pytest.mark.parametrize("key, value", [
    (RATE + "login_ip", "lots"), (RATE + "login_ip", "5 per fortnight"),
    ("shopcore.accounts.reset_token_ttl", "0"), ("shopcore.accounts.reset_link", "https://shop.example/reset"),
    ("shopcore.accounts.revocation_store", "memcached"), ("shopcore.accounts.rate.logins", "5/minute"),
])
def test_bad_settings_stop_start_up_naming_the_setting(make_app, key, value):
    with pytest.raises(SettingsError, match=f"setting {key}"):
        make_app(**{key: value})


# --- issue 21, point 4: lock-out details ----------------------------------------------------------

def test_a_successful_reset_clears_the_failed_login_count(make_app, john):
    app = limited_app(make_app, login_account="2/minute")
    mails = []
    app.app.registry["shopcore.event_subscribers"].append(
        (PasswordResetRequested, False, lambda request, event: mails.append(event)))
    attempt(app)
    attempt(app)
    assert_throttled(attempt(app, password="correct horse battery"), 60)

    app.post_json(RESET, {"email": "john@example.com"}, status=200)
    [mail] = mails
    app.post_json(CONFIRM, {"uid": mail.uid, "token": mail.token, "new_password": "lantern-orbit-77"}, status=204)

    assert attempt(app, password="lantern-orbit-77").status_int == 200


def test_a_full_public_login_count_does_not_stop_a_logged_in_password_change(make_app, auth, john):
    app = limited_app(make_app, login_account="2/minute")
    access = auth.login(app, "john").json["access"]
    attempt(app, address="203.0.113.9")
    attempt(app, address="203.0.113.9")  # someone else fills john's public count
    assert_throttled(attempt(app, password=auth.password, address="203.0.113.10"), 60)

    app.post_json("/api/auth/password/change/", {"old_password": auth.password, "new_password": "lantern-orbit-77"},
                  headers=auth.bearer(access), status=204)


@pytest.mark.parametrize("spelling", ["JOHN ", " john", "ｊｏｈｎ", "ＪＯＨＮ "])
def test_usernames_are_normalised_before_counting(make_app, john, spelling):
    app = limited_app(make_app, login_account="2/minute")
    attempt(app, username=spelling)
    attempt(app, username=spelling)
    assert_throttled(attempt(app, username="john", password="correct horse battery"), 60)


# --- issue 21, point 12: IPv6 clients are counted by their /64 -------------------------------------

def test_ipv6_clients_are_counted_by_their_64_network(make_app, john):
    app = limited_app(make_app, login_ip="2/minute")
    attempt(app, address="2001:db8:1:2::1")
    attempt(app, address="2001:db8:1:2:ffff:ffff:ffff:fffe")
    assert_throttled(attempt(app, password="correct horse battery", address="2001:db8:1:2:abcd::99"), 60)
    # The next /64 is another client.
    assert attempt(app, password="correct horse battery", address="2001:db8:1:3::1").status_int == 200


def test_ipv6_clients_behind_a_trusted_proxy_are_counted_by_their_64_network(make_app, john):
    app = make_app(**{RATE + "login_ip": "1/minute", "shopcore.accounts.trusted_proxies": "127.0.0.1"})
    attempt(app, headers={"X-Forwarded-For": "2001:db8:aa:bb::1"})
    assert_throttled(attempt(app, headers={"X-Forwarded-For": "2001:db8:aa:bb::2"}), 60)


@pytest.mark.parametrize("address, key", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("fe80::1%eth0", "fe80::/64"),
    ("not an address", "not an address"),
])
def test_the_address_key_of_per_address_limits(address, key):
    from shopcore.accounts.ratelimit import address_key

    assert address_key(address) == key
