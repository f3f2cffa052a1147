"""`cuecard up|down|status|topics`: the local Kafka broker and Flink cluster."""

from __future__ import annotations

import argparse
import json

from cuecard import stack
from udfs.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the stack commands."""
    up = subparsers.add_parser(
        "up",
        help="start (or reuse) the Kafka broker and the Flink cluster and create the topics",
        description="Start a single-node Kafka broker (KRaft) and a Flink standalone cluster on 127.0.0.1. "
        "Idempotent: running services are reused. Ports: CUECARD_KAFKA_PORT (19092), "
        "CUECARD_KAFKA_CONTROLLER_PORT (19093), CUECARD_FLINK_REST_PORT (18081, web UI), "
        "CUECARD_FLINK_RPC_PORT (16123). State, logs and pids go to CUECARD_RUN_DIR (.run).",
    )
    up.add_argument("--kafka-only", action="store_true", help="start the broker but not Flink")
    up.set_defaults(func=_up)

    down = subparsers.add_parser(
        "down",
        help="stop what `up` started (by recorded pid); data stays in CUECARD_RUN_DIR",
        description="Stop the TaskManager, JobManager and broker that `cuecard up` started, by the pids it "
        "recorded in CUECARD_RUN_DIR/pids. Kafka data, checkpoints and logs stay in CUECARD_RUN_DIR "
        "(`make clean` removes them).",
    )
    down.set_defaults(func=_down)

    status = subparsers.add_parser("status", help="print what is running, as JSON")
    status.set_defaults(func=_status)


def _up(args: argparse.Namespace) -> int:
    settings = load_settings()
    stack.up(settings, with_flink=not args.kafka_only)
    stack.say(f"Kafka {settings.bootstrap_servers}; Flink web UI {settings.flink_rest_url}")
    return 0


def _down(args: argparse.Namespace) -> int:
    stopped = stack.down(load_settings())
    stack.say("stopped " + (", ".join(stopped) if stopped else "nothing: no process of ours was running"))
    return 0


def _status(args: argparse.Namespace) -> int:
    print(json.dumps(stack.status(load_settings()), indent=2, default=str))
    return 0
