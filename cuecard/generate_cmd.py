"""`cuecard generate`: write seeded sample traffic as JSON lines for `cuecard feed` (see jobs/generator.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from cuecard.settings import SettingsError
from jobs.generator import GeneratorConfig, generate, to_line


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw} is not a whole number; set it to e.g. {default}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `generate` command."""
    parser = subparsers.add_parser(
        "generate",
        help="write seeded sample conversations (plus contexts, policies, malformed records) as JSON lines",
        description="Write a deterministic stream of feed records {topic, key, value|value_raw}: "
        "policy v1, agent states and customer contexts first, then interleaved multi-turn conversations "
        "(chat, voice, email; all intents; PII; angry and vulnerable customers; agents breaking policy), "
        "policy v2 half-way, and malformed records.",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed; the same seed gives the same lines (env CUECARD_SEED, 7)"
    )
    parser.add_argument(
        "--conversations",
        type=int,
        default=None,
        help="how many conversations (env CUECARD_CONVERSATIONS, default 50)",
    )
    parser.add_argument(
        "--malformed-every",
        type=int,
        default=None,
        help="one malformed record after every N turns, 0 for none (env CUECARD_MALFORMED_EVERY, default 40)",
    )
    parser.add_argument("--out", default="-", help="output file, or - for stdout (default -)")
    parser.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    """Handler of `cuecard generate`: returns the exit code."""
    try:
        config = GeneratorConfig(
            seed=args.seed if args.seed is not None else _env_int("CUECARD_SEED", 7),
            conversations=args.conversations
            if args.conversations is not None
            else _env_int("CUECARD_CONVERSATIONS", 50),
            malformed_every=args.malformed_every
            if args.malformed_every is not None
            else _env_int("CUECARD_MALFORMED_EVERY", 40),
        )
    except ValueError as err:
        raise SettingsError(str(err)) from None
    if args.out == "-":
        count = _write(config, sys.stdout)
    else:
        with Path(args.out).open("w", encoding="utf-8") as out:
            count = _write(config, out)
        print(f"[cuecard] wrote {count} records to {args.out}", file=sys.stderr)
    return 0


def _write(config: GeneratorConfig, out: TextIO) -> int:
    count = 0
    for item in generate(config):
        out.write(to_line(item) + "\n")
        count += 1
    return count
