"""`cuecard job|feed|watch|run`: submit the coaching job, feed sample data, show live suggestions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from kafka import KafkaConsumer

from cuecard import flink_jobs, stack
from cuecard.kafka_clients import FeedRecord, feed, feed_record, live_consumer, messages, parse_feed_line
from udfs.settings import Settings, load_settings
from udfs.topics import ALERTS, LIVE_TOPICS, names


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the job, feed, watch and run commands."""
    job = subparsers.add_parser("job", help="submit or cancel the coaching job on the Flink cluster")
    job_sub = job.add_subparsers(dest="job_command", required=True, metavar="ACTION")
    submit = job_sub.add_parser(
        "submit",
        help="submit the coaching job unless it already runs",
        description="Submit jobs/coaching_job.py with `flink run -d` to the cluster at CUECARD_FLINK_REST_PORT. "
        "Delivery of coaching.suggestions/alerts: CUECARD_SUGGESTIONS_DELIVERY (at-least-once|exactly-once).",
    )
    submit.add_argument("--no-wait", action="store_true", help="return once submitted, before tasks run")
    submit.set_defaults(func=_submit)
    cancel = job_sub.add_parser("cancel", help="cancel the running coaching job (its last checkpoint is kept)")
    cancel.set_defaults(func=_cancel)

    feed_cmd = subparsers.add_parser(
        "feed",
        help="produce records to the input topics from JSON lines or the sample generator",
        description="Produce {topic, key, value} JSON lines (or {topic, key, value_raw} for deliberately "
        "malformed values) from FILE ('-' for stdin), or generated samples when no file is given.",
    )
    feed_cmd.add_argument("file", nargs="?", help="JSON lines file, '-' for stdin (default: generate samples)")
    _sample_options(feed_cmd)
    feed_cmd.add_argument("--rate", type=float, help="records per second (default: as fast as possible)")
    feed_cmd.set_defaults(func=_feed)

    watch = subparsers.add_parser(
        "watch",
        help="print live suggestions and alerts as they arrive",
        description="Print new records of coaching.suggestions and coaching.alerts, one line each.",
    )
    watch.add_argument("--idle-timeout", type=float, default=30.0, help="stop after this many quiet seconds")
    watch.add_argument("--max", type=int, help="stop after this many records")
    watch.set_defaults(func=_watch)

    run = subparsers.add_parser(
        "run",
        help="everything: start the stack, submit the job, feed samples and show the live suggestions",
        description="`cuecard up`, then `cuecard job submit`, then feed generated sample conversations and "
        "print suggestions and alerts until the output has been quiet for --idle-timeout seconds. "
        "Idempotent: a running stack and job are reused.",
    )
    _sample_options(run)
    run.add_argument("--idle-timeout", type=float, default=15.0, help="stop showing after this many quiet seconds")
    run.set_defaults(func=_run)


def _sample_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="generator seed (same seed, same records)")
    parser.add_argument("--conversations", type=int, default=40, help="how many conversations to generate")


def sample_records(seed: int, conversations: int) -> Iterator[FeedRecord]:
    """The seeded sample conversations, as records to produce."""
    from jobs.generator import GeneratorConfig, generate

    for item in generate(GeneratorConfig(seed=seed, conversations=conversations)):
        yield feed_record(item)


def _file_records(source: TextIO) -> Iterator[FeedRecord]:
    for line_no, line in enumerate(source, start=1):
        if line.strip():
            yield parse_feed_line(line, line_no)


def _records(args: argparse.Namespace) -> Iterable[FeedRecord]:
    if args.file is None:
        return sample_records(args.seed, args.conversations)
    if args.file == "-":
        return _file_records(sys.stdin)
    return _file_records(Path(args.file).open(encoding="utf-8"))


def format_live(topic: str, value: dict) -> str:
    """One readable line per suggestion or supervisor alert (text is already PII-masked by the job)."""
    if topic == ALERTS.name:
        label, kind, detail = "alert", value.get("alert_type", ""), value.get("severity", "")
        text = value.get("message", "")
    else:
        label, kind, detail = "suggestion", value.get("kind", ""), value.get("template_id") or "-"
        text = value.get("text", "")
        detail = f"{detail:<36} {float(value.get('confidence') or 0):.2f}"
    text = str(text).replace("\n", " ")
    if len(text) > 70:
        text = text[:67] + "..."
    return f'{label:<10} {value.get("conversation_id", "?"):<12} {kind:<18} {detail:<41} "{text}"'


def _submit(args: argparse.Namespace) -> int:
    settings = load_settings()
    job_id = flink_jobs.submit(settings)
    if not args.no_wait:
        flink_jobs.wait_running(settings, job_id)
    stack.say(f"{settings.job_name} running as {job_id}; {settings.flink_rest_url}/#/job/running")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    settings = load_settings()
    stack.say(f"cancelled {flink_jobs.cancel_all(settings)} job(s) named {settings.job_name}")
    return 0


def _feed_with_progress(settings: Settings, records: Iterable[FeedRecord], rate: float | None = None) -> int:
    sent = feed(settings, records, rate=rate, progress=lambda n: stack.say(f"fed {n} records ..."))
    stack.say(f"fed {sent} records to {settings.bootstrap_servers}")
    return sent


def _feed(args: argparse.Namespace) -> int:
    _feed_with_progress(load_settings(), _records(args), args.rate)
    return 0


def _print_messages(consumer: KafkaConsumer, idle_timeout: float, max_messages: int | None) -> int:
    shown = 0
    for topic, value in messages(consumer, idle_timeout, max_messages):
        print(format_live(topic, value), flush=True)
        shown += 1
    return shown


def _watch(args: argparse.Namespace) -> int:
    shown = _print_messages(live_consumer(load_settings(), names(LIVE_TOPICS)), args.idle_timeout, args.max)
    stack.say(f"{shown} records shown")
    return 0


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    stack.up(settings)
    job_id = flink_jobs.submit(settings)
    flink_jobs.wait_running(settings, job_id)
    stack.start_audit_writer(settings)
    # Position the reader before feeding so nothing the job writes is missed.
    consumer = live_consumer(settings, names(LIVE_TOPICS))
    _feed_with_progress(settings, sample_records(args.seed, args.conversations))
    shown = _print_messages(consumer, args.idle_timeout, None)
    stack.say(
        f"{shown} suggestions and alerts shown. The stack keeps running: web UI {settings.flink_rest_url}; "
        f"audit tables in {settings.audit_dir} (`cuecard audit query --list`); "
        "`cuecard watch` to follow; `make down` to stop."
    )
    return 0 if shown else 1
