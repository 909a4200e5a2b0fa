"""Observability: one log line per request (JSON in production) and Prometheus metrics at `/metrics`.

Metrics use prometheus-client. Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR to
an empty folder shared by the workers so `/metrics` adds up every worker's numbers.
"""
from __future__ import annotations

import hmac
import logging
import os
import time

import orjson

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client import multiprocess
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from shopcore.clock import utcnow
from shopcore.errors import error_response
from shopcore.metrics import LATENCY, REQUESTS

request_log = logging.getLogger("shopcore.requests")
MAX_REMEMBERED_LABELS = 1000



def route_name(request) -> str:
    route = getattr(request, "matched_route", None)
    return route.name if route is not None else "unmatched"


def request_log_line(request, response, duration: float, json_format: bool) -> str:
    identity = request.environ.get("shopcore.identity")  # only when the request was authenticated
    fields = {
        "time": utcnow().isoformat(timespec="milliseconds"),
        "request_id": request.environ.get("shopcore.request_id"),
        "method": request.method,
        "route": route_name(request),
        "path": request.path,
        "status": response.status_int,
        "duration_ms": round(duration * 1000, 2),
        "user_id": identity.user_id if identity is not None else None,
    }
    if json_format:
        return orjson.dumps(fields).decode()
    user = f" user={fields['user_id']}" if fields["user_id"] is not None else ""
    return (f"{fields['method']} {fields['path']} -> {fields['status']} in {fields['duration_ms']} ms "
            f"[{fields['route']}] id={fields['request_id']}{user}")


def observability_tween_factory(handler, registry):
    json_format = registry.settings["shopcore.log.format"] == "json"
    # The metrics' children by their labels: prometheus-client checks and locks on every `labels()`
    # call; routes, methods and statuses are few, so each child is looked up once per process (the
    # lookup is bounded: a client can send any method name).
    counters: dict[tuple[str, str, int], object] = {}
    latencies: dict[str, object] = {}

    def tween(request):
        started = time.perf_counter()
        response = handler(request)
        duration = time.perf_counter() - started
        route = route_name(request)
        labels = (route, request.method, response.status_int)
        counter = counters.get(labels)
        if counter is None:
            counter = REQUESTS.labels(route, request.method, str(response.status_int))
            if len(counters) < MAX_REMEMBERED_LABELS:
                counters[labels] = counter
        counter.inc()
        latency = latencies.get(route)
        if latency is None:
            latency = latencies[route] = LATENCY.labels(route)
        latency.observe(duration)
        request_log.info(request_log_line(request, response, duration, json_format))
        return response

    return tween


def outbox_metrics(app_registry) -> bytes:
    """The outbox's state, read from the database at scrape time: the same for every process."""
    from shopcore.messaging.outbox import outbox_status

    try:
        status = outbox_status(app_registry)
    except Exception as exc:  # the database being down must not hide the other metrics
        request_log.warning("metrics: outbox status unavailable: %s: %s", type(exc).__name__, exc)
        return b""
    registry = CollectorRegistry()
    jobs = Gauge("shopcore_outbox_jobs", "Outbox jobs by state (mail and other background jobs).", ["state"],
                 registry=registry)
    jobs.labels("pending").set(status.pending)
    jobs.labels("failed").set(status.failed)
    jobs.labels("done").set(status.done)
    oldest = Gauge("shopcore_outbox_oldest_pending_seconds", "Age of the oldest job not yet done.",
                   registry=registry)
    oldest.set(status.oldest_pending_age or 0)
    return generate_latest(registry)


def metrics_view(request):
    settings = request.registry.settings
    if not settings["shopcore.metrics.public"]:
        token = settings["shopcore.metrics.token"]
        given = request.headers.get("Authorization", "")
        identity = request.identity
        # Compared in constant time: how long a wrong guess takes must not tell how much of it was right.
        token_matches = bool(token) and hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                                                            f"Bearer {token}".encode("utf-8"))
        if not (token_matches or (identity is not None and identity.is_admin)):
            return error_response(403, "Metrics are not public here; send the metrics token or an admin token.")
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    response = Response(body=body + outbox_metrics(request.registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def includeme(config) -> None:
    config.add_tween("shopcore.observability.observability_tween_factory", under="shopcore.web.request_id_tween_factory")
    config.add_route("metrics", "/metrics")
    config.add_view(metrics_view, route_name="metrics", request_method="GET", permission=NO_PERMISSION_REQUIRED)
