"""Pagination, the one helper every plugin uses: DRF-style pages over any SQLAlchemy select.

A page body is `{"count", "next", "previous", "results"}`.

The page's rows come from one LIMIT/OFFSET query that asks for one row more than the page holds, so
whether a next page exists is known without counting. A page that ends the result set gives the
count itself (its offset plus its length). Otherwise the matches are counted, but never more than
COUNT_CAP of them: past that the count reads COUNT_CAP + 1 rows and stops, so a page of a huge
result costs what a page of a small one does. `count` is then a lower bound (at least COUNT_CAP + 1,
and never less than the results up to this page plus one); `next` and `previous` stay exact. The
caller may remember the count (it depends on the filters, not on the page or the ordering), so
paging through a result set counts it once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from shopcore.errors import InvalidInput, NotFound

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Past this many matches a count is a lower bound (see the module docstring and the spec's page schemas).
COUNT_CAP = 1000


@dataclass(frozen=True)
class Page:
    rows: list
    count: int
    number: int
    size: int
    # Whether a next page exists, when the page query found out (it reads one row more than the page).
    more: bool | None = None

    @property
    def has_next(self) -> bool:
        return self.more if self.more is not None else self.number * self.size < self.count

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def check_page(page: int, page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", f"Must be between 1 and {MAX_PAGE_SIZE}.")
    if page < 1:
        raise InvalidInput("page", "Must be at least 1.")


def count_rows(session: Session, statement: Select, cap: int | None = None) -> int:
    """How many rows `statement` gives; with a `cap`, at most `cap + 1` are read (a larger result counts as cap + 1)."""
    inner = statement.order_by(None)
    if cap is not None:
        if not inner._distinct and not inner._group_by_clauses:
            # Only the rows' existence matters: no column needs reading beyond what the filters need.
            inner = inner.with_only_columns(literal_column("1"), maintain_column_froms=True)
        inner = inner.limit(cap + 1)
    return session.scalar(select(func.count()).select_from(inner.subquery()))


def fetch_page(session: Session, statement: Select, page: int, page_size: int,
               remembered_count: Callable[[Callable[[], int]], int] | None = None) -> Page:
    """One page of `statement` (already ordered); a page past the end is a 404.

    `remembered_count(compute)` returns a count kept from an earlier request or calls `compute`.
    A page below 1 or a size outside 1..MAX_PAGE_SIZE is an InvalidInput (400), as it is over HTTP
    where the spec says so: a service caller cannot ask for an unbounded page either.
    """
    check_page(page, page_size)
    offset = (page - 1) * page_size
    rows = list(session.execute(statement.limit(page_size + 1).offset(offset)).scalars())
    more = len(rows) > page_size
    rows = rows[:page_size]
    if not rows and page > 1:
        raise NotFound("Invalid page.")
    if not more:
        count = offset + len(rows)
    else:
        def compute() -> int:
            return count_rows(session, statement, cap=COUNT_CAP)

        count = remembered_count(compute) if remembered_count else compute()
        # A capped count is a lower bound: never below what this page shows to exist.
        count = max(count, offset + len(rows) + 1)
    return Page(rows=rows, count=count, number=page, size=page_size, more=more)


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
    return f"{base_url}?{urlencode(query, doseq=True)}" if query else base_url


def page_body(page: Page, results: list, base_url: str, params: Mapping[str, Any]) -> dict:
    """The response body; `params` are the request's canonical query parameters, kept in the links."""
    return {
        "count": page.count,
        "next": page_url(base_url, params, page.number + 1) if page.has_next else None,
        "previous": page_url(base_url, params, page.number - 1) if page.has_previous else None,
        "results": results,
    }
