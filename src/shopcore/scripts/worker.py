"""`shopcore-worker CONFIG`: consumes background jobs (mail) from the broker until SIGTERM or SIGINT."""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from pyramid.paster import bootstrap, setup_logging

from shopcore.messaging.worker import make_worker

log = logging.getLogger("shopcore.worker")


def chosen_queues(registry, names: list[str]) -> list[str] | None:
    from shopcore.messaging import queue_names
    from shopcore.messaging.state import OPTIONS

    known = queue_names(registry)
    chosen = []
    for name in names:
        full = name if name in known else registry[OPTIONS].queue_name(name)
        if full not in known:
            print(f"shopcore-worker: no jobs go to queue {name!r}; queues: {', '.join(known)}", file=sys.stderr)
            return None
        chosen.append(full)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopcore-worker", description=__doc__)
    parser.add_argument("config_uri", help="the ini file, e.g. production.ini")
    parser.add_argument("--queue", action="append", dest="queues", metavar="NAME",
                        help="consume only this queue (repeatable): a job kind's own queue by its short name "
                             "(webhooks) or a full queue name; default: every queue")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(args.config_uri)
    env = bootstrap(args.config_uri)
    try:
        queues = chosen_queues(env["registry"], args.queues) if args.queues else None
        if queues is None and args.queues:
            return 2
        worker = make_worker(env["registry"], queues)

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
