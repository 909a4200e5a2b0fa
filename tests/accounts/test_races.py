"""Races over real HTTP: a refresh token or a reset link sent by many clients at once is honoured once."""
import pytest

from shopcore.accounts.events import PasswordResetRequested
from shopcore.accounts.models import User
from shopcore.accounts.services import create_user, request_password_reset
from shopcore.accounts.tokens import issue_token_pair
from shopcore.testing import request_context

pytestmark = pytest.mark.slow
CLIENTS = 8


@pytest.fixture
def john(shopcore_registry, committed_db):
    with request_context(shopcore_registry) as request:
        return create_user(request, username="john", email="john@example.com",
                           password="correct horse battery").id


def test_one_refresh_token_sent_by_many_clients_at_once_is_honoured_once(live_server, run_together,
                                                                          shopcore_registry, john):
    with request_context(shopcore_registry) as request:
        refresh = issue_token_pair(request, john)["refresh"]

    results = run_together(CLIENTS, lambda i: live_server.request("POST", "/api/auth/refresh/", "",
                                                                   {"refresh": refresh}))

    statuses = sorted(status for status, _body, _headers in results)
    assert statuses == [200] + [401] * (CLIENTS - 1)


def test_one_reset_link_sent_by_many_clients_at_once_sets_one_password(live_server, run_together, events,
                                                                       shopcore_registry, john):
    with request_context(shopcore_registry) as request:
        request_password_reset(request, email="john@example.com")
    (mail,) = [event for event in events if isinstance(event, PasswordResetRequested)]
    passwords = [f"lantern-orbit-{i:02d}-x" for i in range(CLIENTS)]

    results = run_together(CLIENTS, lambda i: live_server.request(
        "POST", "/api/auth/password/reset/confirm/", "",
        {"uid": mail.uid, "token": mail.token, "new_password": passwords[i]}))

    statuses = [status for status, _body, _headers in results]
    assert sorted(statuses) == [204] + [400] * (CLIENTS - 1)
    winner = passwords[statuses.index(204)]
    with request_context(shopcore_registry) as request:
        stored = request.dbsession.get(User, john).password_hash
        hashing = shopcore_registry["shopcore.accounts.password_hashing"]
        assert [password for password in passwords if hashing.verify(stored, password)] == [winner]
