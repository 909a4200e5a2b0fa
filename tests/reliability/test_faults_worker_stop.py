"""A worker told to stop while the broker is cut off stops at once.

With no broker there is no message in hand, so nothing is worth waiting for: SIGTERM must end
`shopcore-worker` within a second or two, instead of it retrying the broker until SIGKILL (it used to
go on for as long as the outage lasted, kombu's reconnection loop never looking at the stop flag).
"""
from __future__ import annotations

import re
import signal
import subprocess
from datetime import datetime
from urllib.parse import urlparse

from shopcore.testing.messaging import wait_until, worker_command, worker_environment, write_ini
from shopcore.testing import require_service


def test_sigterm_during_a_broker_outage_stops_the_worker_within_two_seconds(messaging_app, tcp_proxy, tmp_path):
    broker = urlparse(require_service("SHOPCORE_TEST_BROKER_URL"))
    proxy = tcp_proxy(broker.hostname, broker.port or 5672)
    proxied = broker._replace(netloc=f"{broker.username}:{broker.password}@127.0.0.1:{proxy.port}").geturl()
    registry = messaging_app(**{"shopcore.broker_url": proxied})
    ini = write_ini(tmp_path / "worker.ini", registry["shopcore.test_settings"])
    proxy.refuse()

    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(worker_command(ini), env=worker_environment(), stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: log_path.read_text().count("broker unreachable") >= 2, timeout=60,
                       what="the worker to fail reaching the broker twice")
            # Now inside kombu's wait between two attempts (4 s after the second failure).
            worker.send_signal(signal.SIGTERM)
            try:
                code = worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                code = None
        finally:
            worker.kill()
            worker.wait()
    output = log_path.read_text()
    assert code == 0, f"the worker did not stop on SIGTERM during the outage:\n{output}"
    # Measured from the worker's own log, so the interpreter's shutdown (seconds on a loaded machine) is
    # not counted: from the signal to leaving the reconnection loop.
    elapsed = (logged_at(output, "worker stopped") - logged_at(output, "SIGTERM received")).total_seconds()
    assert elapsed < 2.0, f"the worker took {elapsed:.1f} s to stop:\n{output}"
    assert "stopped while the broker was unreachable" in output


def logged_at(output: str, text: str) -> datetime:
    line = next(line for line in output.splitlines() if text in line)
    return datetime.strptime(re.match(r"\S+ \S+", line).group(0), "%Y-%m-%d %H:%M:%S,%f")
