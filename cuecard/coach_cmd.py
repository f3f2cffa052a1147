"""`cuecard coach`: the coaching job's core over a file of records, through the local runner, no stack.

It reads the same {topic, key, value} lines `cuecard feed` produces to Kafka (for example the output
of `cuecard generate`), runs them in file order through `udfs.runner.LocalRunner` (the job's own
stages with in-memory state) and prints each suggestion and alert as `cuecard watch` does, or every
output record as JSON lines with `--json`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

import orjson

from cuecard.jobs_cmd import format_live
from cuecard.kafka_clients import parse_feed_line
from udfs.envelopes import RawRecord
from udfs.model_registry import ModelError
from udfs.runner import LocalRunner, outputs_by_topic
from udfs.settings import load_settings
from udfs.stages import CoachingCore
from udfs.topics import ALERTS, SUGGESTIONS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `coach` command."""
    coach = subparsers.add_parser(
        "coach",
        help="run feed records through the coaching core locally (no broker, no cluster) and print the outputs",
        description="Read {topic, key, value} JSON lines (the format of `cuecard generate` and `cuecard feed`) from "
        "FILE or stdin, run them in order through the job's stages with in-memory state, and print every "
        "suggestion and alert. Models come from CUECARD_MODELS_DIR; CUECARD_DEEP_TIER=off serves the fast tier "
        "only. A bad line is reported with its number and skipped; the exit status is 1 if any was. "
        "Example: cuecard generate --conversations 2 | cuecard coach",
    )
    coach.add_argument("file", nargs="?", type=Path, help="feed lines to run (default: stdin)")
    coach.add_argument("--json", action="store_true", help="print every output record (audit and DLQ too) as JSON")
    coach.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of `cuecard coach`."""
    try:
        lines = args.file.open(encoding="utf-8") if args.file is not None else sys.stdin
    except OSError as err:
        print(f"cuecard: error: cannot read {args.file}: {err.strerror}", file=sys.stderr)
        return 2
    with lines:
        try:
            core = CoachingCore.load(load_settings())
        except ModelError as err:
            print(f"cuecard: error: {err}", file=sys.stderr)
            return 2
        return coach_lines(core, lines, sys.stdout, sys.stderr, as_json=args.json)


def coach_lines(core: CoachingCore, lines: TextIO, out: TextIO, err: TextIO, *, as_json: bool) -> int:
    """Run every line through one local runner; returns the exit status."""
    runner = LocalRunner(core)
    counts: Counter[str] = Counter()
    failed = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = parse_feed_line(line, number)
        except ValueError as bad:
            failed += 1
            print(f"cuecard coach: {bad}", file=err)
            continue
        raw = RawRecord(record.topic, 0, number, int(time.time() * 1000), record.key, record.value)
        outcome = runner.feed(raw)
        counts.update(outcome.counts)
        for topic, value in outputs_by_topic(outcome):
            if as_json:
                out.write(orjson.dumps({"topic": topic.name, "key": outcome.key, "value": value}).decode() + "\n")
            elif topic in (SUGGESTIONS, ALERTS):
                out.write(format_live(topic.name, dict(value)) + "\n")
    summary = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    print(f"[cuecard] coached locally: {summary or 'nothing'}", file=err)
    return 1 if failed else 0
