"""Roles as Pyramid permissions: plugins name a permission on a view, admins hold them all, customers what is granted."""
import pytest
import webtest
from pyramid.authorization import Authenticated

from shopcore.accounts.models import User
from shopcore.testing import make_test_configurator

OPENAPI = """
paths:
  /test/edit/:
    post:
      operationId: testEdit
      security: [{bearerAuth: []}]
      responses:
        "200":
          description: Done.
          content:
            application/json:
              schema: {type: object}
  /test/review/:
    post:
      operationId: testReview
      security: [{bearerAuth: []}]
      responses:
        "200":
          description: Done.
          content:
            application/json:
              schema: {type: object}
"""


@pytest.fixture(scope="module")
def permissions_wsgi_app(shopcore_settings, shopcore_config, tmp_path_factory):
    fragment = tmp_path_factory.mktemp("permissions") / "openapi.yaml"
    fragment.write_text(OPENAPI)

    def include(config):
        config.add_openapi_fragment(str(fragment))
        config.add_route("test_edit", "/test/edit/")
        config.add_route("test_review", "/test/review/")
        config.add_view(lambda request: {}, route_name="test_edit", request_method="POST", renderer="json",
                        openapi=True, permission="catalog.edit")
        config.add_view(lambda request: {}, route_name="test_review", request_method="POST", renderer="json",
                        openapi=True, permission="test.review")
        config.grant_permission(Authenticated, "test.review")

    registry = shopcore_config.registry
    config = make_test_configurator(shopcore_settings, extra_includes=(include,), **{
        "shopcore.engine": registry["shopcore.engine"],
        "shopcore.dbsession_factory": registry["shopcore.dbsession_factory"]})
    return config.make_wsgi_app()


@pytest.fixture
def app(permissions_wsgi_app, db_connection):
    return webtest.TestApp(permissions_wsgi_app)


def test_anonymous_is_401_customer_403_admin_allowed(app, make_user, token_for, auth):
    customer, admin = token_for(make_user("carla"))["access"], token_for(make_user("ada", is_admin=True))["access"]

    assert app.post("/test/edit/", status=401).json["detail"]
    assert app.post("/test/edit/", headers=auth.bearer(customer), status=403).json == {
        "detail": "You do not have permission to perform this action."}
    app.post("/test/edit/", headers=auth.bearer(admin), status=200)


def test_a_permission_granted_to_logged_in_users_admits_customers(app, make_user, token_for, auth):
    customer = token_for(make_user("carla"))["access"]
    app.post("/test/review/", headers=auth.bearer(customer), status=200)
    app.post("/test/review/", status=401)


def test_a_removed_admin_role_holds_at_once_for_a_token_already_issued(app, make_user, token_for, auth, make_request):
    admin_id = make_user("ada", is_admin=True)
    token = token_for(admin_id)["access"]
    app.post("/test/edit/", headers=auth.bearer(token), status=200)

    with make_request() as request:
        request.dbsession.get(User, admin_id).is_admin = False

    app.post("/test/edit/", headers=auth.bearer(token), status=403)
