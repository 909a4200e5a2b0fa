"""HTTP plumbing: the body size limit and retries, request ids, security and caching headers, CORS, and the JSON renderer."""
from __future__ import annotations

import datetime
import io
import re
import uuid
from decimal import Decimal
from urllib.parse import unquote_to_bytes

import orjson

from pyramid.renderers import JSON
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import EXCVIEW, INGRESS
from pyramid_retry import RetryableExecutionPolicy

from shopcore.errors import error_response
from shopcore.settings import parse_list

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS_PRODUCTION_DEFAULT = 365 * 24 * 3600


def request_id_tween_factory(handler, registry):
    """Outermost: every response, errors included, carries the request id and security headers."""
    cors_origins = set(parse_list(registry.settings.get("shopcore.cors.origins", "")))
    hsts = hsts_header(registry.settings)

    def tween(request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.environ["shopcore.request_id"] = rid
        origin = request.headers.get("Origin")
        allowed_origin = origin if origin and origin in cors_origins else None
        if allowed_origin and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = Response(status=204)  # a CORS preflight from an allowed origin
            response.headers["Access-Control-Max-Age"] = "600"
        elif not query_string_is_utf8(request.environ.get("QUERY_STRING", "")):
            # webob would fail decoding it deep inside validation or a view: a 500 instead of a 400.
            response = error_response(400, "The query string is not valid UTF-8.")
        elif (problem := json_body_problem(request)) is not None:
            # What would fail deep inside validation with a 500 is a 400 here.
            response = error_response(400, f"Invalid request: body: {problem}", [{"field": "body", "message": problem}])
        elif request.method == "HEAD":
            response = answer_head_as_get(handler, request)
        else:
            response = handler(request)
        response.headers["X-Request-ID"] = rid
        add_security_headers(response)
        add_cache_headers(request, response)
        headers = response.headers
        if hsts:
            headers.setdefault("Strict-Transport-Security", hsts)
        if allowed_origin:
            headers["Access-Control-Allow-Origin"] = allowed_origin
            headers["Vary"] = "Origin"
            headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key"
            headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
        return response

    return tween


def answer_head_as_get(handler, request):
    """HEAD is a GET without the body. The spec declares GET operations only, so the request is
    validated and answered as the GET it stands for, and the body is dropped here."""
    request.method = "GET"
    try:
        response = handler(request)
    finally:
        request.method = "HEAD"
    length = response.content_length
    response.app_iter = []
    response.content_length = length
    return response


def add_security_headers(response) -> None:
    """The headers every answer carries; the docs pages set a CSP of their own first."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", API_CSP)


def hsts_header(settings) -> str | None:
    """Strict-Transport-Security for every answer: on in production (a year unless configured), off
    in development, where the app is served over plain HTTP and a browser would remember the header."""
    max_age = settings.get("shopcore.hsts_max_age")
    if max_age is None:
        max_age = HSTS_PRODUCTION_DEFAULT if settings.get("shopcore.env") == "production" else 0
    return f"max-age={max_age}" if max_age else None


def add_cache_headers(request, response) -> None:
    """`Cache-Control: no-store` on every answer that may carry tokens or personal data.

    That is every answer to a request that carries credentials (the user's profile, cart, orders) and
    every answer to a request that changes something (a login's tokens, a registration). Anonymous
    reads (the public catalog) keep what their view chose: they are the same for everyone, and the
    catalog serves them with an ETag. A view that sets Cache-Control itself is left alone.
    """
    if "Cache-Control" in response.headers:
        return
    if "Authorization" in request.headers or request.method not in ("GET", "HEAD", "OPTIONS"):
        response.headers["Cache-Control"] = "no-store"


def query_string_is_utf8(query_string: str) -> bool:
    try:
        unquote_to_bytes(query_string.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# No body of this API nests deeper than a few levels; Python's JSON parser fails past about a thousand.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]+|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_body_problem(request) -> str | None:
    """Why a JSON body cannot be validated without failing inside openapi-core, or None.

    Bytes that are not UTF-8 (JSON is UTF-8, RFC 8259): openapi-core's error for them decodes the body
    as UTF-8 itself and fails. Nesting deeper than MAX_JSON_DEPTH: its parser runs out of recursion.
    """
    if not (request.content_type or "").endswith("json") or not request.content_length:
        return None
    body = request.body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "Malformed JSON."
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and json_nesting(body) > MAX_JSON_DEPTH:
        return f"JSON nested deeper than {MAX_JSON_DEPTH} levels."
    return None


def json_nesting(body: bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings left out)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", body)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _json_default(value):
    # What orjson does not write itself. Decimal prices stay exact strings ("30000.00"), never floats.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json_fallback(value, request):
    # Integers past 64 bits (orjson refuses them), NaN and the like: written as the standard library would.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class OrjsonRenderer:
    """The `json` renderer, with orjson: the same JSON values as Pyramid's JSON renderer with the shop's
    adapters gave (datetimes and dates in ISO 8601 as `isoformat()` writes them, UUIDs and Decimals as
    strings), several times faster, and with UTF-8 text instead of ASCII escapes."""

    def __init__(self, info=None):
        self.fallback = JSON()
        for kind in (Decimal, datetime.datetime, datetime.date, uuid.UUID):
            self.fallback.add_adapter(kind, _json_fallback)

    def __call__(self, info):
        fallback = self.fallback(info)

        def render(value, system) -> str:
            request = system.get("request")
            if request is not None:
                response = request.response
                if response.content_type == response.default_content_type:
                    response.content_type = "application/json"
            try:
                # A str, as Pyramid's renderer gives: plugins call render("json", ...) and encode it.
                return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()
            except TypeError:
                return fallback(value, system)

        return render


def json_renderer() -> OrjsonRenderer:
    return OrjsonRenderer()


class BodyLimitPolicy:
    """Answers 413 before anything reads a body over the limit; otherwise runs the wrapped policy.

    A body with a Content-Length over the limit is refused unread. A body without one (chunked
    transfer encoding, which gunicorn hands over as a stream with no CONTENT_LENGTH) is read here, at
    most the limit plus one byte: over the limit it is refused, otherwise the bytes read become the
    request's input with their length, so nothing later can read more than the limit.
    """

    def __init__(self, policy, max_body: int):
        self.policy = policy
        self.max_body = max_body

    def __call__(self, environ, router):
        length = environ.get("CONTENT_LENGTH") or ""
        if length.isdigit():
            if int(length) > self.max_body:
                return self.too_large()
        elif not length and environ.get("wsgi.input_terminated"):
            # The server promises the stream ends where the body does (PEP 3333's wsgi.input_terminated),
            # so reading it cannot block past the body; without that promise webob reads no body at all.
            body = read_at_most(environ["wsgi.input"], self.max_body + 1)
            if len(body) > self.max_body:
                return self.too_large()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is now length-delimited
        return self.policy(environ, router)

    def too_large(self) -> Response:
        response = error_response(413, f"Request body is larger than {self.max_body} bytes.")
        response.headers["X-Request-ID"] = uuid.uuid4().hex
        add_security_headers(response)  # answered before the tweens that add them to every other answer
        return response


def read_at_most(stream, limit: int) -> bytes:
    """Up to `limit` bytes of `stream` (a read may return less than asked before the end)."""
    chunks, size = [], 0
    while size < limit:
        chunk = stream.read(min(limit - size, 64 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def request_factory(max_body: int):
    # Bodies up to the limit stay in memory when made seekable for retries (no temporary files).
    return type("ShopRequest", (Request,), {"request_body_tempfile_limit": max_body})


def includeme(config) -> None:
    settings = config.get_settings()
    max_body = settings["shopcore.max_body_bytes"]
    config.set_request_factory(request_factory(max_body))
    # pyramid_retry's policy retries a request whose transaction failed on a serialization failure or
    # deadlock (pyramid_tm, shopcore.db, marks those retryable); the body-size check runs first, before
    # that policy buffers the body for retries.
    attempts = int(settings.get("retry.attempts") or 3)
    config.set_execution_policy(BodyLimitPolicy(RetryableExecutionPolicy(attempts), max_body))
    config.add_tween("shopcore.web.request_id_tween_factory", under=INGRESS)
    config.add_renderer("json", json_renderer())
