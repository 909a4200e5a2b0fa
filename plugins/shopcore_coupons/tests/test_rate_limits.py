"""Applying codes is rate-limited per customer and per client address (issue 21, point 7): without it a
customer could try codes at full speed until one gave a discount."""
import pytest

from shopcore.plugins import PluginError
from shopcore.testing import AuthenticatedApp

APPLY = "/api/cart/coupon/"
THROTTLED = {"detail": "Too many attempts; try again later."}


def tries(app, codes, address="127.0.0.1") -> list:
    return [app.post_json(APPLY, {"code": code}, expect_errors=True, extra_environ={"REMOTE_ADDR": address})
            for code in codes]


def assert_throttled(response, window_seconds: int) -> None:
    assert (response.status_int, response.json) == (429, THROTTLED)
    assert 1 <= int(response.headers["Retry-After"]) <= window_seconds


@pytest.fixture
def client(make_app, token_for):
    def as_user(app, user_id: int) -> AuthenticatedApp:
        return AuthenticatedApp(app, token_for(user_id)["access"], user_id)

    return as_user


def test_a_customer_trying_codes_is_stopped_whatever_the_address(make_app, client, customer, make_coupon):
    make_coupon("REAL10")
    app = client(make_app(**{"shopcore.coupons.rate.apply_user": "3/minute"}), customer)

    guesses = tries(app, ["GUESS1", "GUESS2", "GUESS3"])
    assert [response.status_int for response in guesses] == [400, 400, 400]

    # The right code, from another address, once the customer's tries are spent: refused all the same.
    [late] = tries(app, ["REAL10"], address="10.0.0.9")
    assert_throttled(late, 60)


def test_throwaway_accounts_from_one_address_are_stopped(make_app, client, make_user, make_coupon):
    make_coupon("REAL10")
    app = make_app(**{"shopcore.coupons.rate.apply_ip": "4/minute"})
    accounts = [client(app, make_user(f"throwaway{n}")) for n in range(3)]

    statuses = [response.status_int for account in accounts[:2] for response in tries(account, ["GUESS1", "GUESS2"])]
    assert statuses == [400] * 4
    assert_throttled(tries(accounts[2], ["REAL10"])[0], 60)
    # Another client address is counted on its own.
    assert tries(accounts[2], ["REAL10"], address="10.0.0.2")[0].status_int == 200


def test_a_bad_rate_setting_names_it(make_app):
    with pytest.raises(PluginError, match=r"setting shopcore\.coupons\.rate\.apply_user: "):
        make_app(**{"shopcore.coupons.rate.apply_user": "often"})


def test_a_misspelt_rate_setting_stops_start_up(make_app):
    with pytest.raises(PluginError, match=r"setting shopcore\.coupons\.rate\.apply_users: unknown \(known: "
                                          r"shopcore\.coupons\.rate\.apply_ip, shopcore\.coupons\.rate\.apply_user\)"):
        make_app(**{"shopcore.coupons.rate.apply_users": "5/minute"})
