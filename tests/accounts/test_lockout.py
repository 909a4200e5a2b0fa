"""Issue 20, point 1: guessing is stopped, yet nobody who knows a username can keep its owner out.

Failed logins are counted per client address, per account and address, and per account across the
addresses the account has not logged in from; the account counts have tiers, so the pause grows. The
account-wide count never refuses an address the owner has logged in from. These tests run with the
shop's default rates unless they say otherwise.
"""
import time

from sqlalchemy import select

from shopcore.accounts.models import KnownLoginAddress

LOGIN = "/api/auth/login/"
RATE = "shopcore.accounts.rate."
PASSWORD = "correct horse battery"
OWNER_HOME = "198.51.100.7"


def attempt(app, address, username="john", password="not the password"):
    return app.post_json(LOGIN, {"username": username, "password": password}, expect_errors=True,
                         extra_environ={"REMOTE_ADDR": address})


def botnet(count, start=0):
    """`count` distinct client addresses, none of them the owner's."""
    return [f"203.0.{(n // 250) % 250}.{n % 250 + 1}" for n in range(start, start + count)]


def test_an_attacker_rotating_through_many_addresses_gets_nowhere(make_app, make_user):
    make_user("john")
    app = make_app()
    statuses = [attempt(app, address).status_int for address in botnet(200)]

    # Five guesses in all (the default 5/15minutes), then every address is refused, without a guess.
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    # Even the right password, from yet another address, is not tried: a guess cannot succeed.
    refused = attempt(app, botnet(1, start=500)[0], password=PASSWORD)
    assert refused.status_int == 429
    assert refused.json == {"detail": "Too many attempts; try again later."}
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60


def test_the_owner_logs_in_during_the_attack(make_app, make_user):
    make_user("john")
    app = make_app()
    assert attempt(app, OWNER_HOME, password=PASSWORD).status_int == 200  # the owner, some day before

    attack = iter(botnet(300))
    for _ in range(100):
        attempt(app, next(attack))
    assert attempt(app, next(attack)).status_int == 429

    # The owner, from home, gets in while the attack goes on, again and again.
    for _ in range(3):
        login = attempt(app, OWNER_HOME, password=PASSWORD)
        assert login.status_int == 200, login.json
        assert set(login.json) == {"access", "refresh"}
        assert attempt(app, next(attack)).status_int == 429
    # A typo of the owner's at home counts for that address only, and the next try works.
    assert attempt(app, OWNER_HOME, password="correct horse batery").status_int == 401
    assert attempt(app, OWNER_HOME, password=PASSWORD).status_int == 200
    # The owner's logins give the attack no fresh allowance.
    assert attempt(app, next(attack)).status_int == 429


def test_the_owner_logs_in_during_an_attack_on_every_process(make_app, make_user, redis_url):
    """With Redis the counts are shared; the known addresses are in the database, seen by every process."""
    make_user("john")
    first, second = make_app(), make_app()
    assert attempt(first, OWNER_HOME, password=PASSWORD).status_int == 200
    for address in botnet(10):
        attempt(first, address)
        attempt(second, address)
    assert attempt(second, botnet(1, start=50)[0]).status_int == 429
    assert attempt(second, OWNER_HOME, password=PASSWORD).status_int == 200


def test_an_attacker_at_an_address_the_owner_uses_is_limited_there(make_app, make_user):
    make_user("john")
    app = make_app(**{RATE + "login_account_address": "3/15minutes;10/day"})
    assert attempt(app, OWNER_HOME, password=PASSWORD).status_int == 200
    # Someone on the owner's network (a shared NAT, a café) cannot guess there without limit.
    assert [attempt(app, OWNER_HOME).status_int for _ in range(4)] == [401, 401, 401, 429]
    # Elsewhere the owner logs in; the account-wide count was not touched by failures at a known address.
    assert attempt(app, "192.0.2.44", password=PASSWORD).status_int == 200


def test_pauses_grow_with_the_failures(make_app, make_user):
    make_user("john")
    app = make_app(**{RATE + "login_account": "2/2seconds;3/hour"})
    addresses = iter(botnet(20))
    assert [attempt(app, next(addresses)).status_int for _ in range(2)] == [401, 401]
    first_pause = attempt(app, next(addresses))
    assert first_pause.status_int == 429
    assert int(first_pause.headers["Retry-After"]) <= 2

    time.sleep(2.2)  # the first tier has room again: one more guess
    assert attempt(app, next(addresses)).status_int == 401
    second_pause = attempt(app, next(addresses))
    assert second_pause.status_int == 429
    # The hour's tier is spent now: the pause is that of the hour, not of the two seconds.
    assert 2 < int(second_pause.headers["Retry-After"]) <= 3600
    time.sleep(2.2)
    assert attempt(app, next(addresses)).status_int == 429


def test_an_address_unused_for_the_known_address_ttl_is_unknown_again(make_app, make_user):
    make_user("john")
    app = make_app(**{RATE + "login_account": "2/hour", "shopcore.accounts.known_address_ttl": "1"})
    assert attempt(app, OWNER_HOME, password=PASSWORD).status_int == 200
    attempt(app, "203.0.113.1")
    attempt(app, "203.0.113.2")
    assert attempt(app, OWNER_HOME, password=PASSWORD).status_int == 200
    time.sleep(1.2)
    assert attempt(app, OWNER_HOME, password=PASSWORD).status_int == 429


def test_a_wrong_password_from_a_known_address_does_not_make_it_known_to_another_account(make_app, make_user):
    make_user("john")
    make_user("mary")
    app = make_app(**{RATE + "login_account": "1/hour"})
    assert attempt(app, OWNER_HOME, password=PASSWORD).status_int == 200  # john's home
    attempt(app, "203.0.113.1", username="mary")
    # john's home is not mary's: mary's account-wide pause holds there.
    assert attempt(app, OWNER_HOME, username="mary", password=PASSWORD).status_int == 429


def test_known_addresses_are_stored_as_keyed_hashes_only(make_app, make_user, make_request):
    user_id = make_user("john")
    app = make_app()

    def hashes():
        with make_request() as request:
            return sorted(request.dbsession.scalars(
                select(KnownLoginAddress.address_hash).where(KnownLoginAddress.user_id == user_id)))

    assert attempt(app, OWNER_HOME, password=PASSWORD).status_int == 200
    assert attempt(app, "2001:db8:5:6::1", password=PASSWORD).status_int == 200
    stored = hashes()
    assert len(stored) == 2
    assert all(len(value) == 64 and "198.51" not in value and "2001" not in value for value in stored)
    # Logging in again from the same address (another host of the same /64) adds no row.
    assert attempt(app, "2001:db8:5:6::2", password=PASSWORD).status_int == 200
    assert hashes() == stored
