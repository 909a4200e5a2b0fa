"""A live server and simultaneous clients, for concurrency tests (real commits, real HTTP)."""
from __future__ import annotations

import http.client
import json
import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import pytest


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Room for every client of the concurrency tests to connect at once.
    request_queue_size = 128


class LiveServer:
    """A client of the live server: each request on its own connection, as separate clients would."""

    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, token: str, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, dict]:
        """(status, JSON body, headers) of one request on its own connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            payload = None if body is None else json.dumps(body)
            all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
            if payload is not None:
                all_headers["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            text = response.read()
            return response.status, (json.loads(text) if text else {}), dict(response.getheaders())
        finally:
            connection.close()


@pytest.fixture
def live_server(wsgi_app, committed_db):
    """The app served over real HTTP on 127.0.0.1, a thread per request, committing for real.

    For concurrency tests: create data with `make_committed_request` (real commits);
    `committed_db` empties every table afterwards.
    """
    server = _ThreadingWSGIServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(wsgi_app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def run_together():
    """`run_together(count, work)`: `work(i)` in `count` threads started at once; results in order."""
    return run_in_threads


def run_in_threads(count: int, work) -> list:
    """Run `work(i)` in `count` threads released at the same moment; their results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # reported by the test, not lost in a thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
