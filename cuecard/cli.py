"""`cuecard`: one command line for the local stack, the jobs, scoring, auditing and benchmarks.

Each command group lives in its own module exposing `register(subparsers)`; this module only
assembles them and turns configuration errors into one line and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cuecard.processes import StackError
from udfs.settings import SettingsError, reference

COMMAND_MODULES = (
    "cuecard.stack_cmd",
    "cuecard.jobs_cmd",
    "cuecard.bench_cmd",
    "cuecard.audit_cmd",
    "cuecard.generate_cmd",
    "cuecard.score_cmd",
    "cuecard.coach_cmd",
    "cuecard.replay_cmd",
    "cuecard.eval_cmd",
)


def env_help() -> str:
    """The env var table of `cuecard --help`, generated from the settings' fields."""
    rows = reference()
    env_width = max(len(row.env) for row in rows)
    default_width = max(len(row.default) for row in rows)
    lines = ["settings (env vars; unset or empty means the default; a bad value stops with one line):"]
    lines += [f"  {row.env:<{env_width}}  {row.default:<{default_width}}  {row.meaning}" for row in rows]
    return "\n".join(lines)


def env_markdown() -> str:
    """The same table as markdown, for the README's Configuration section (a unit test compares them)."""
    lines = ["| env var | default | what |", "| --- | --- | --- |"]
    lines += [f"| `{row.env}` | `{row.default}` | {row.meaning} |" for row in reference()]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="cuecard",
        description="Real-time coaching for contact-center agents on PyFlink and Kafka. "
        "Settings come from CUECARD_* env vars (listed below); each command's --help names those it uses.",
        epilog=env_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cuecard` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (SettingsError, StackError) as err:
        print(f"cuecard: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
