"""Accounts: users, the `/api/auth/` endpoints, and the check that a decoded access token still stands."""
from __future__ import annotations

from shopcore.security import Identity


def verify_access_claims(request, claims: dict) -> Identity | None:
    """An identity for valid access-token claims, or None when the token no longer stands.

    No query while the token's user is unchanged since it was issued (`shopcore.accounts.identity`).
    """
    from shopcore.accounts.identity import access_identity
    from shopcore.accounts.tokens import ACCESS, checked_claims

    claims = checked_claims(claims, ACCESS)
    return access_identity(request, claims) if claims else None


def includeme(config) -> None:
    from shopcore.accounts.identity import track_user_changes
    from shopcore.accounts.passwords import PasswordHashing
    from shopcore.accounts.personal_data import ERASE_ACTION
    from shopcore.accounts.personal_data import declare_points as declare_personal_data_points
    from shopcore.accounts.ratelimit import RateLimits
    from shopcore.accounts.revocation import make_revocation_store
    from shopcore.accounts.settings import ACCOUNT_SETTINGS, rate_limit_settings
    from shopcore.accounts.services import GRANT_ADMIN, PASSWORD_RESET_JOB, REVOKE_ADMIN, send_password_reset_link
    from shopcore.accounts.views import add_account_views

    settings = config.get_settings()
    config.add_settings_table("shopcore.accounts.", ACCOUNT_SETTINGS)
    config.registry["shopcore.accounts.password_hashing"] = PasswordHashing.from_settings(settings)
    config.registry["shopcore.accounts.revocation_store"] = make_revocation_store(settings)
    config.registry["shopcore.accounts.rate_limits"] = RateLimits(rate_limit_settings(settings),
                                                                 settings["shopcore.redis_url"])
    config.set_identity_verifier(verify_access_claims)
    config.add_audited_action(GRANT_ADMIN, doc="A user was made an admin (shopcore-admin grant-admin, or create-user --admin)")
    declare_personal_data_points(config)
    config.add_audited_action(ERASE_ACTION, doc="A customer erased their own account (their personal data)")
    config.add_audited_action(REVOKE_ADMIN, doc="An admin was made a customer again (shopcore-admin revoke-admin)")
    track_user_changes()
    # A reset request's work for a known address, done outside the request (whose timing must not tell).
    config.add_job_handler(PASSWORD_RESET_JOB, send_password_reset_link, with_request=True)
    config.add_openapi_fragment("shopcore.accounts:openapi.yaml")
    add_account_views(config)
