"""`cuecard generate`: write seeded sample traffic as JSON lines for `cuecard feed` (see jobs/generator.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from jobs.generator import GeneratorConfig, generate, to_line
from udfs.settings import Settings, SettingsError, env_name, load_settings

DEFAULTS = Settings()


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
        "--seed",
        type=int,
        default=None,
        help="random seed; the same seed gives the same lines "
        f"(env {env_name('generator_seed')}, default {DEFAULTS.generator_seed})",
    )
    parser.add_argument(
        "--conversations",
        type=int,
        default=None,
        help=f"how many conversations (env {env_name('generator_conversations')}, "
        f"default {DEFAULTS.generator_conversations})",
    )
    parser.add_argument(
        "--malformed-every",
        type=int,
        default=None,
        help="one malformed record after every N turns, 0 for none "
        f"(env {env_name('generator_malformed_every')}, default {DEFAULTS.generator_malformed_every})",
    )
    parser.add_argument("--out", default="-", help="output file, or - for stdout (default -)")
    parser.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    """Handler of `cuecard generate`: returns the exit code."""
    settings = load_settings()
    try:
        config = GeneratorConfig(
            seed=settings.generator_seed if args.seed is None else args.seed,
            conversations=settings.generator_conversations if args.conversations is None else args.conversations,
            malformed_every=settings.generator_malformed_every
            if args.malformed_every is None
            else args.malformed_every,
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
