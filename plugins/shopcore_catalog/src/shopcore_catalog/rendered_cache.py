"""Rendered response bodies kept in the catalog cache and served with an ETag (304 when unchanged).

The cache holds the JSON bytes as they go on the wire, so a hit neither queries the database nor
serializes anything. Keys come from `CacheNamespace.key`, whose generation numbers make every
entry of a collection unreachable at once when a write invalidates it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

from pyramid.renderers import render
from pyramid.response import Response


@dataclass(frozen=True)
class RenderedBody:
    body: bytes
    etag: str
    # False when not every caller may see it (an inactive product): the view checks first.
    public: bool = True


def render_body(request, value, public: bool = True) -> RenderedBody:
    body = render("json", value, request=request).encode("utf-8")
    return RenderedBody(body=body, etag=hashlib.blake2b(body, digest_size=16).hexdigest(), public=public)


def cached_body(request, cache, key: str, build: Callable[[], dict],
                is_public: Callable[[dict], bool] = lambda value: True) -> RenderedBody:
    """The body cached under `key`, or `build()` rendered and cached."""
    rendered = cache.get(key)
    if rendered is None:
        value = build()
        rendered = render_body(request, value, is_public(value))
        cache.set(key, rendered)
    return rendered


def body_response(request, rendered: RenderedBody) -> Response:
    """200 with the body, or 304 when the client already holds this ETag."""
    if rendered.etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(body=rendered.body, content_type="application/json", charset="utf-8")
    response.etag = rendered.etag
    return response
