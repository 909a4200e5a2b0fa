"""Account settings (`shopcore.accounts.*`): reset and e-mail links, password length, session lifetime, rate limits.

Declared with `config.add_settings_table`, which checks them at start-up (an unknown key too).
"""
from __future__ import annotations

from typing import Any

from shopcore.settings import Setting, parse_choice, parse_list, parse_positive_int


def parse_rate(value: Any) -> str:
    """A rate in the `limits` notation, such as `5/15minutes` or `30 per minute`, or tiers of them
    separated by `;` (`5/15minutes;20/day`: each must have room)."""
    from limits import parse_many

    text = str(value).strip()
    parse_many(text)  # ValueError on anything it cannot read
    return text


def parse_link(value: Any) -> str:
    """A link mailed to users: a format with {uid} and {token}, and optionally {base_url}."""
    text = str(value).strip()
    if "{uid}" not in text or "{token}" not in text:
        raise ValueError(f"must contain {{uid}} and {{token}}, got {value!r}")
    try:
        text.format(base_url="", uid="", token="")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"may only use {{base_url}}, {{uid}} and {{token}}: {exc}") from None
    return text


ACCOUNT_SETTINGS: tuple[Setting, ...] = (
    Setting("shopcore.accounts.password_min_length", 10, parse_positive_int, (),
            "Shortest password accepted."),
    # argon2-cffi's defaults, RFC 9106's low-memory profile; logins rehash when these change.
    Setting("shopcore.accounts.argon2.time_cost", 3, parse_positive_int, (), "Argon2 iterations."),
    Setting("shopcore.accounts.argon2.memory_cost", 65536, parse_positive_int, (), "Argon2 memory in KiB."),
    Setting("shopcore.accounts.argon2.parallelism", 4, parse_positive_int, (), "Argon2 lanes."),
    Setting("shopcore.accounts.reset_token_ttl", 3600, parse_positive_int, (),
            "Seconds a password reset link stays valid."),
    Setting("shopcore.accounts.reset_link", "{base_url}/password-reset/confirm/?uid={uid}&token={token}",
            parse_link, (), "The link put in reset mails; {base_url} is shopcore.base_url."),
    Setting("shopcore.accounts.email_change_ttl", 24 * 3600, parse_positive_int, (),
            "Seconds the link confirming a new e-mail address stays valid."),
    Setting("shopcore.accounts.email_confirm_link", "{base_url}/email/confirm/?uid={uid}&token={token}",
            parse_link, (), "The link mailed to a new address to confirm it."),
    Setting("shopcore.accounts.email_undo_ttl", 7 * 24 * 3600, parse_positive_int, (),
            "Seconds the old address's link undoing an e-mail change stays valid."),
    Setting("shopcore.accounts.email_undo_link", "{base_url}/email/undo/?uid={uid}&token={token}",
            parse_link, (), "The link mailed to the old address to undo an e-mail change."),
    Setting("shopcore.accounts.session_lifetime", 30 * 24 * 3600, parse_positive_int, (),
            "Seconds a login session (a login and all its refreshes) lasts at most; then log in again."),
    Setting("shopcore.accounts.revocation_store", "auto", parse_choice("auto", "redis", "database"), (),
            "Where revoked tokens are kept; auto is Redis when shopcore.redis_url is set, else the database."),
    Setting("shopcore.accounts.trusted_proxies", [], parse_list, (),
            "Addresses of reverse proxies whose X-Forwarded-For names the client (for per-IP limits)."),
    Setting("shopcore.accounts.rate.login_ip", "30/minute", parse_rate, (),
            "Login attempts per client address."),
    Setting("shopcore.accounts.rate.login_account", "5/15minutes;20/day", parse_rate, (),
            "Failed logins per account from every address it has not logged in from (and wrong current "
            "passwords); once spent, only such addresses are refused (tiers separated by ;)."),
    Setting("shopcore.accounts.rate.login_account_address", "5/15minutes;20/day", parse_rate, (),
            "Failed logins per account and client address, known to the account or not."),
    Setting("shopcore.accounts.known_address_ttl", 90 * 24 * 3600, parse_positive_int, (),
            "Seconds an address an account logged in from stays known to it (is not paused by others' failures)."),
    Setting("shopcore.accounts.rate.reset_ip", "10/hour", parse_rate, (),
            "Password reset requests per client address."),
    Setting("shopcore.accounts.rate.reset_account", "3/hour", parse_rate, (),
            "Password reset requests per e-mail address."),
    Setting("shopcore.accounts.rate.reset_confirm_ip", "20/hour", parse_rate, (),
            "Password reset confirmations per client address."),
    Setting("shopcore.accounts.rate.register_ip", "20/hour", parse_rate, (),
            "Registrations per client address."),
    Setting("shopcore.accounts.rate.email_change_ip", "10/hour", parse_rate, (),
            "E-mail change requests per client address."),
    Setting("shopcore.accounts.rate.email_change_account", "5/hour", parse_rate, (),
            "E-mail change requests per account."),
    Setting("shopcore.accounts.rate.email_confirm_ip", "20/hour", parse_rate, (),
            "E-mail change confirmations and undos per client address."),
)


def rate_limit_settings(settings) -> dict[str, str]:
    prefix = "shopcore.accounts.rate."
    rates = {key[len(prefix):]: value for key, value in settings.items() if key.startswith(prefix)}
    # Wrong current passwords of a logged-in user (password or e-mail change) are counted per account
    # at the login rate, apart from the public count, which anyone can fill.
    rates["reauth_account"] = rates["login_account"]
    return rates
