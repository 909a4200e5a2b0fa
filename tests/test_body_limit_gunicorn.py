"""The body-size limit holds under gunicorn, as production runs the shop, for chunked bodies too.

gunicorn hands a `Transfer-Encoding: chunked` body to the app as a stream with no CONTENT_LENGTH; a
limit that only looks at CONTENT_LENGTH let one anonymous request take a worker's memory up by the
body's size. The server here is `pserve` with production.ini's own [server:main] (gunicorn, its
workers), bound to a free loopback port, and the request is written on a raw socket.
"""
from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from shopcore.testing.messaging import worker_environment, write_ini

REPO_ROOT = Path(__file__).resolve().parent.parent
LIMIT = 1024 * 1024
BIG_BODY = 64 * LIMIT
CHUNK = 64 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_ini(path: Path, settings: dict, port: int) -> Path:
    """The test's app settings under production.ini's [server:main], bound to loopback."""
    production = (REPO_ROOT / "production.ini").read_text(encoding="utf-8")
    server = re.search(r"(?ms)^\[server:main\]\n.*?(?=^\[)", production).group(0)
    assert "egg:gunicorn#main" in server, "production.ini's server is not gunicorn any more"
    server = re.sub(r"(?m)^bind\s*=.*$", f"bind = 127.0.0.1:{port}", server)
    server = re.sub(r"(?m)^accesslog\s*=.*$", "", server)
    write_ini(path, settings)
    path.write_text(path.read_text() + "\n" + server)
    return path


class Gunicorn:
    def __init__(self, ini: Path, port: int, log: Path):
        self.port = port
        self.log = log
        self.output = open(log, "wb")
        self.process = subprocess.Popen([str(Path(sys.executable).parent / "pserve"), str(ini)],
                                        stdout=self.output, stderr=subprocess.STDOUT,
                                        env=worker_environment(), start_new_session=True)

    def workers(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if re.search(rf"(?m)^PPid:\s*{self.process.pid}$", (entry / "status").read_text()):
                        found.append(int(entry.name))
        return found

    def wait_until_serving(self, workers: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited:\n" + self.log.read_text(errors="replace")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as answer:
                    if answer.status == 200 and len(self.workers()) >= workers:
                        return
            time.sleep(0.3)
        pytest.fail("gunicorn did not answer:\n" + self.log.read_text(errors="replace"))

    def peak_memory_kb(self) -> dict[int, int]:
        peaks = {}
        for pid in self.workers():
            with contextlib.suppress(OSError):
                peaks[pid] = int(re.search(r"(?m)^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text()).group(1))
        return peaks

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.output.close()


def chunked_post(port: int, path: str, body_size: int, first: bytes = b"") -> tuple[int, dict, bytes]:
    """POST a chunked body of `body_size` bytes (starting with `first`, padded with spaces) on a raw
    socket; the status, headers and body of the answer, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode())
        body = first + b" " * (body_size - len(first))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            # The server may answer and close before the whole body is sent: that is the point.
            for start in range(0, len(body), CHUNK):
                chunk = body[start:start + CHUNK]
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while data := sock.recv(65536):
                answer += data
    head, _, content = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, content


@pytest.fixture(scope="module")
def gunicorn(shopcore_settings, shopcore_config, tmp_path_factory):
    port = free_port()
    settings = {**shopcore_settings, "shopcore.max_body_bytes": str(LIMIT)}
    folder = tmp_path_factory.mktemp("gunicorn")
    server = Gunicorn(gunicorn_ini(folder / "gunicorn.ini", settings, port), port, folder / "gunicorn.log")
    try:
        server.wait_until_serving(workers=2)
        yield server
    finally:
        server.stop()


def test_a_chunked_body_over_the_limit_is_a_413_and_never_held_in_memory(gunicorn):
    # Every worker has answered a refused body once, so what is measured next is the big one alone.
    for _ in range(4):
        assert chunked_post(gunicorn.port, "/api/auth/register/", LIMIT + 1)[0] == 413
    before = gunicorn.peak_memory_kb()

    started = time.monotonic()
    status, headers, body = chunked_post(gunicorn.port, "/api/auth/register/", BIG_BODY)
    elapsed = time.monotonic() - started

    assert status == 413
    assert json.loads(body) == {"detail": f"Request body is larger than {LIMIT} bytes."}
    assert headers["Content-Type"].startswith("application/json")
    for name in ("X-Request-ID", "X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy",
                 "Referrer-Policy"):
        assert name in headers, (name, headers)
    after = gunicorn.peak_memory_kb()
    growth_mb = max(after[pid] - before.get(pid, after[pid]) for pid in after) / 1024
    assert growth_mb < 8, f"a worker's peak memory grew by {growth_mb:.1f} MB for a {BIG_BODY >> 20} MB body"
    assert elapsed < 10


def test_a_chunked_body_within_the_limit_is_read(gunicorn, committed_db):
    account = {"username": "chunky", "email": "chunky@example.com", "password": "violet-harbour-42"}
    first = json.dumps(account).encode()
    status, _headers, body = chunked_post(gunicorn.port, "/api/auth/register/", LIMIT, first)
    assert status == 201, body
    assert json.loads(body)["username"] == "chunky"
