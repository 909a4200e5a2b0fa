"""The core's Prometheus metrics, in a leaf module any other module may import (it imports no shopcore code).

`shopcore.observability` records the request metrics and serves `/metrics`; the cache counts its
lookups here without depending on the web plumbing.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("shopcore_http_requests_total", "HTTP requests by route and status.", ["route", "method", "status"])
LATENCY = Histogram("shopcore_http_request_duration_seconds", "Time to answer, by route.", ["route"],
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
CACHE_LOOKUPS = Counter("shopcore_cache_lookups_total", "Cache lookups by namespace and result.",
                        ["namespace", "result"])
