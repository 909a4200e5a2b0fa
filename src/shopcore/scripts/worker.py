"""`shopcore-worker CONFIG`: consumes background jobs (mail) from the broker until SIGTERM or SIGINT."""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from pyramid.paster import bootstrap, setup_logging

from shopcore.messaging.worker import make_worker

log = logging.getLogger("shopcore.worker")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopcore-worker", description=__doc__)
    parser.add_argument("config_uri", help="the ini file, e.g. production.ini")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(args.config_uri)
    env = bootstrap(args.config_uri)
    try:
        worker = make_worker(env["registry"])

        def stop(signum, _frame):
            # Only a flag: the message in hand finishes and is acked, then the loop ends.
            log.info("%s received: finishing the message in hand, then stopping", signal.Signals(signum).name)
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        worker.run()
        log.info("worker stopped")
        return 0
    finally:
        env["closer"]()


if __name__ == "__main__":
    sys.exit(main())
