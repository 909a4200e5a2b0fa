"""API docs: the merged spec as `/swagger.json` and `/openapi.yaml`, Swagger UI at `/swagger/`, Redoc at `/redoc/`.

Both pages load their scripts from this app (no CDN), so they work without internet access:
Swagger UI from the `swagger-ui-bundle` package, Redoc from its standalone bundle vendored in
`vendor/redoc/` (the npm package's release file, shipped in the wheel; see the README there).
"""
from __future__ import annotations

import json
from pathlib import Path

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from shopcore.web import DOCS_CSP

TEMPLATES = Path(__file__).with_name("templates")
# Redoc's sidebar attribution loads this logo from Redocly's CDN (Redocly/redoc#2141): the page would
# reach out to a third party, which the CSP refuses with a console error. An empty image stands in.
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


REDOC_BUNDLE = Path(__file__).with_name("vendor") / "redoc" / "redoc.standalone.js"


def swagger_json_view(request):
    body = json.dumps(request.registry["shopcore.openapi_spec"]).encode()
    return Response(body=body, content_type="application/json", charset="utf-8")


def _page(name: str, request) -> Response:
    html = (TEMPLATES / name).read_text(encoding="utf-8")
    html = html.replace("{{spec_url}}", request.route_path("swagger_json"))
    response = Response(html, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def swagger_ui_view(request):
    return _page("swagger.html", request)


def redoc_view(request):
    return _page("redoc.html", request)


def redoc_bundle_view(request):
    return Response(body=request.registry["shopcore.redoc_bundle"], content_type="application/javascript",
                    charset="utf-8")


def includeme(config) -> None:
    import swagger_ui_bundle

    config.add_route("swagger_json", "/swagger.json")
    config.add_route("swagger_ui", "/swagger/")
    config.add_route("redoc", "/redoc/")
    for route, view in (("swagger_json", swagger_json_view), ("swagger_ui", swagger_ui_view), ("redoc", redoc_view)):
        config.add_view(view, route_name=route, request_method="GET", permission=NO_PERMISSION_REQUIRED)
    config.add_static_view("docs-static/swagger-ui", str(swagger_ui_bundle.swagger_ui_path),
                           permission=NO_PERMISSION_REQUIRED)
    # A folder path, not an asset spec: asset specs go through pkg_resources, which cannot read a
    # package imported by an unknown loader (pytest's, since shopcore is also a pytest plugin).
    config.add_static_view("docs-static/shop", str(Path(__file__).with_name("static")),
                           permission=NO_PERMISSION_REQUIRED)
    bundle = REDOC_BUNDLE.read_text(encoding="utf-8")
    config.registry["shopcore.redoc_bundle"] = bundle.replace(REDOC_CDN_LOGO, EMPTY_IMAGE).encode()
    config.add_route("redoc_bundle", "/redoc/redoc.standalone.js")
    config.add_view(redoc_bundle_view, route_name="redoc_bundle", request_method="GET",
                    permission=NO_PERMISSION_REQUIRED)
