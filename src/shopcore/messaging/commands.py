"""Admin commands over the outbox: status, failed jobs, requeueing them, one relay pass.

The core registers them as `jobs-*` for every kind; a plugin registers its own view of them
(`mail-status`, ...) with `add_job_commands(config, "mail", kind_prefix="mail.")`.
"""
from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass

from shopcore.clock import as_utc
from shopcore.messaging.outbox import failed_jobs, outbox_status, requeue_failed
from shopcore.messaging.relay import relay_once


@dataclass(frozen=True)
class JobCommands:
    noun: str  # "jobs", "mail"
    kind_prefix: str
    done_word: str

    def status(self, env, args) -> int:
        for line in outbox_status(env["registry"], self.kind_prefix).lines(self.done_word):
            print(line)
        return 0

    def failed(self, env, args) -> int:
        rows = failed_jobs(env["registry"], self.kind_prefix)
        for row in rows:
            failed_at = as_utc(row.processed_at)
            when = failed_at.isoformat(timespec="seconds") if failed_at else "-"
            error = (row.last_error or "").splitlines()[0] if row.last_error else ""
            print(f"{row.id}  {row.kind:<24} attempts {row.attempts:<3} failed {when}  {error}")
        print(f"{len(rows)} failed", file=sys.stderr)
        return 0

    def retry(self, env, args) -> int:
        if not args.ids and not args.all:
            print("error: name job ids, or give --all", file=sys.stderr)
            return 2
        for job_id in args.ids:
            try:
                uuid.UUID(job_id)
            except ValueError:
                print(f"error: {job_id!r} is not a job id (mail-failed lists them)", file=sys.stderr)
                return 2
        messages = requeue_failed(env["registry"], None if args.all else args.ids, self.kind_prefix)
        print(f"requeued {len(messages)}")
        return 0

    def relay(self, env, args) -> int:
        report = relay_once(env["registry"], self.kind_prefix)
        print(f"handed over {report.handed_over}, left {report.left}")
        return 0 if not report.left else 1


def add_job_commands(config, noun: str, kind_prefix: str = "", done_word: str = "done") -> None:
    commands = JobCommands(noun, kind_prefix, done_word)
    config.add_admin_command(f"{noun}-status", commands.status,
                             help=f"Pending, {done_word} and failed {noun}, and the oldest pending age")
    config.add_admin_command(f"{noun}-failed", commands.failed, help=f"List dead-lettered {noun} with their error")

    def retry_arguments(parser):
        parser.add_argument("ids", nargs="*", help="job ids, as mail-failed lists them")
        parser.add_argument("--all", action="store_true", help="every failed one")

    config.add_admin_command(f"{noun}-retry", commands.retry, help=f"Requeue failed {noun} with fresh attempts",
                             add_arguments=retry_arguments)
    config.add_admin_command(f"{noun}-relay", commands.relay,
                             help=f"Publish {noun} the broker has not taken yet (one relay pass)")
