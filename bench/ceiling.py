"""The ceiling of `make bench`: a bare Pyramid app answering `{}` as JSON, served like shopcore is.

Routing, a view and the JSON renderer, nothing else: what Pyramid under the same gunicorn workers
costs on this machine, against which each shopcore scenario is read as a fraction.
"""
from pyramid.config import Configurator


def empty(request):
    return {}


def main(global_config, **settings):
    config = Configurator(settings=settings)
    config.add_route("empty", "/")
    config.add_view(empty, route_name="empty", renderer="json")
    return config.make_wsgi_app()
