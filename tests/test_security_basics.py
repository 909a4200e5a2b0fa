"""The security policy: bearer tokens become identities, bad tokens none."""
from pyramid.security import NO_PERMISSION_REQUIRED


def test_fixture_token_authenticates(customer_app, shopcore_registry, make_request, customer):
    from shopcore.accounts.tokens import issue_token_pair
    from shopcore.security import ShopSecurityPolicy

    with make_request() as request:
        token = issue_token_pair(request, customer)["access"]
        request.headers["Authorization"] = f"Bearer {token}"
        identity = ShopSecurityPolicy().identity(request)
    assert identity.user_id == customer and not identity.is_admin


def test_refresh_token_is_not_an_access_token(make_request, customer):
    from shopcore.accounts.tokens import issue_token_pair
    from shopcore.security import ShopSecurityPolicy

    with make_request() as request:
        token = issue_token_pair(request, customer)["refresh"]
        request.headers["Authorization"] = f"Bearer {token}"
        assert ShopSecurityPolicy().identity(request) is None
