"""The pagination helper enforces the page bounds itself, for service callers as for HTTP requests."""
import pytest
from sqlalchemy import select

from shopcore.accounts.models import User
from shopcore.errors import InvalidInput
from shopcore.pagination import MAX_PAGE_SIZE, fetch_page


@pytest.mark.parametrize(("page", "page_size", "field"), [(1, MAX_PAGE_SIZE + 1, "page_size"), (1, 10**9, "page_size"),
                                                          (1, 0, "page_size"), (0, 10, "page"), (-3, 10, "page")])
def test_a_page_out_of_bounds_is_invalid_input(make_request, page, page_size, field):
    with make_request() as request:
        with pytest.raises(InvalidInput) as refused:
            fetch_page(request.dbsession, select(User).order_by(User.id), page, page_size)
    assert refused.value.errors == [{"field": field, "message": refused.value.errors[0]["message"]}]


def test_the_largest_page_is_served(make_request, make_user):
    for number in range(3):
        make_user(f"pager{number}")
    with make_request() as request:
        page = fetch_page(request.dbsession, select(User).order_by(User.id), 1, MAX_PAGE_SIZE)
    assert (len(page.rows), page.count) == (3, 3)
