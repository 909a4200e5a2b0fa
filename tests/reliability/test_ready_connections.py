"""`/ready` keeps one connection to each service per process, and still sees a service go and come back.

A load balancer polls `/ready` every few seconds on every web process; a new Redis and broker
connection per call made that a steady churn of connections. Redis and the broker are reached through
proxies here, which count the connections they accept.
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

from shopcore.health import READINESS_CHECKS
from shopcore.testing import require_service

POLLS = 10


@pytest.mark.parametrize("broker_variable", ["SHOPCORE_TEST_BROKER_URL", "SHOPCORE_TEST_REDIS_BROKER_URL"])
def test_ready_reuses_its_connections_and_sees_an_outage(tcp_proxy, make_app, broker_variable):
    redis_url = urlparse(require_service("SHOPCORE_TEST_REDIS_URL"))
    broker_url = urlparse(require_service(broker_variable))
    redis_proxy = tcp_proxy(redis_url.hostname, redis_url.port or 6379)
    broker_proxy = tcp_proxy(broker_url.hostname, broker_url.port)
    netloc = broker_url.netloc.rsplit("@", 1)
    credentials = f"{netloc[0]}@" if len(netloc) == 2 else ""
    app = make_app(**{
        "shopcore.redis_url": f"redis://127.0.0.1:{redis_proxy.port}{redis_url.path or '/0'}",
        "shopcore.broker_url": broker_url._replace(netloc=f"{credentials}127.0.0.1:{broker_proxy.port}").geturl(),
    })

    for _ in range(POLLS):
        assert app.get("/ready").json["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    assert redis_proxy.connections == 1
    assert broker_proxy.connections == 1

    broker_proxy.refuse()
    redis_proxy.refuse()
    assert app.get("/ready", status=503).json["checks"] == {"database": "ok", "cache": "down", "broker": "down"}
    broker_proxy.restore()
    redis_proxy.restore()
    try:
        assert app.get("/ready").json["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}
    finally:
        app.app.registry[READINESS_CHECKS]["broker"].close()  # a web process keeps it until it ends
