"""Pagination, the one helper every plugin uses: DRF-style pages over any SQLAlchemy select.

A page body is `{"count", "next", "previous", "results"}`.

The page's rows come from one LIMIT/OFFSET query. The total is counted only when the page is full:
a page shorter than `page_size` is the last one, so its offset plus its length *is* the count. A
full page needs a COUNT, and the caller may remember it (the count depends on the filters, not on
the page or the ordering), so paging through a result set counts it once.

When the page query visits every matching row anyway (it sorts them all, as a text search does),
the caller asks for the count alongside (`count(*) OVER ()`): one query, one pass, no second scan.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shopcore.errors import InvalidInput, NotFound

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    rows: list
    count: int
    number: int
    size: int

    @property
    def has_next(self) -> bool:
        return self.number * self.size < self.count

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def check_page(page: int, page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", f"Must be between 1 and {MAX_PAGE_SIZE}.")
    if page < 1:
        raise InvalidInput("page", "Must be at least 1.")


def count_rows(session: Session, statement: Select) -> int:
    return session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))


def fetch_page(session: Session, statement: Select, page: int, page_size: int,
               remembered_count: Callable[[Callable[[], int]], int] | None = None,
               count_alongside: bool = False) -> Page:
    """One page of `statement` (already ordered); a page past the end is a 404.

    `remembered_count(compute)` returns a count kept from an earlier request or calls `compute`.
    A page below 1 or a size outside 1..MAX_PAGE_SIZE is an InvalidInput (400), as it is over HTTP
    where the spec says so: a service caller cannot ask for an unbounded page either.
    """
    check_page(page, page_size)
    offset = (page - 1) * page_size
    if count_alongside:
        results = session.execute(statement.add_columns(func.count().over()).limit(page_size).offset(offset)).all()
        rows = [result[0] for result in results]
        total = results[0][1] if results else None
    else:
        rows = list(session.execute(statement.limit(page_size).offset(offset)).scalars())
        total = None
    if not rows and page > 1:
        raise NotFound("Invalid page.")
    if total is not None:
        count = total
    elif len(rows) < page_size:
        count = offset + len(rows)
    else:
        def compute() -> int:
            return count_rows(session, statement)

        count = remembered_count(compute) if remembered_count else compute()
    return Page(rows=rows, count=count, number=page, size=page_size)


def public_url(request, route_name: str | None = None, **matchdict: Any) -> str:
    """The URL of a route (the request's own by default) under `shopcore.base_url`: what page links
    are built on. Never the request's Host header: any client sets it, and it would show in the
    links of a cached page served to everyone else."""
    base = request.registry.settings["shopcore.base_url"].rstrip("/")
    if route_name is None:
        route_name, matchdict = request.matched_route.name, dict(request.matchdict or {})
    return request.route_url(route_name, _app_url=base, **matchdict)


def page_url(base_url: str, params: Mapping[str, Any], page_number: int) -> str:
    query = {name: value for name, value in params.items() if name != "page"}
    if page_number > 1:
        query["page"] = page_number
    return f"{base_url}?{urlencode(query)}" if query else base_url


def page_body(page: Page, results: list, base_url: str, params: Mapping[str, Any]) -> dict:
    """The response body; `params` are the request's canonical query parameters, kept in the links."""
    return {
        "count": page.count,
        "next": page_url(base_url, params, page.number + 1) if page.has_next else None,
        "previous": page_url(base_url, params, page.number - 1) if page.has_previous else None,
        "results": results,
    }
