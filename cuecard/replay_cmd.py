"""`cuecard replay start|compare|stop`: run history through another model version, beside the live job.

A replay is the same job (`jobs/coaching_job.py`, the same pipeline) under another name: it reads the
input topics from their first offset with its own consumer group and fresh state, and writes to
`replay.<name>.<topic>`, so nothing a CRM consumer or the audit lake reads is touched. `compare`
then lines up its audit records with the live ones, turn by turn.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from cuecard import flink_jobs, stack
from cuecard.kafka_clients import consumer_from_start, messages
from udfs.settings import Settings, load_settings
from udfs.topics import AUDIT, OUTPUT_TOPICS, names


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the replay commands."""
    replay = subparsers.add_parser("replay", help="replay the input topics through another model version")
    actions = replay.add_subparsers(dest="replay_command", required=True, metavar="ACTION")
    start = actions.add_parser(
        "start",
        help="submit a replay job that reads every input topic from the start",
        description="Submit the coaching job as `cuecard-replay-NAME`: it reads the input topics from their "
        "first offset (own consumer group, fresh state) and writes to replay.NAME.<topic>. Choose the model "
        "with --intent-model (env CUECARD_INTENT_MODEL, e.g. intent@2); the rest of the settings are the "
        "live job's (CUECARD_* env vars).",
    )
    start.add_argument("name", help="replay name: lowercase letters, digits and - (env CUECARD_REPLAY_NAME)")
    start.add_argument("--intent-model", help="intent model to serve, name@version (default: the champion)")
    start.set_defaults(func=_start)
    compare = actions.add_parser(
        "compare",
        help="compare a replay's committed audit records with the live ones, turn by turn",
        description="Read coaching.audit and replay.NAME.coaching.audit (read_committed) from the start and "
        "print, for the turns both have scored, how often the intent agrees, which intents changed, and how "
        "often the shown reply template changed. --json prints the whole comparison.",
    )
    compare.add_argument("name", help="replay name")
    compare.add_argument("--idle-timeout", type=float, default=5.0, help="stop reading after this many quiet s")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.set_defaults(func=_compare)
    stop = actions.add_parser("stop", help="cancel a replay job (its output topics stay)")
    stop.add_argument("name", help="replay name")
    stop.set_defaults(func=_stop)


def replay_settings(name: str, intent_model: str | None = None) -> Settings:
    """The live settings turned into a replay's."""
    return load_settings().with_overrides(replay_name=name, intent_model=intent_model)


def start_replay(settings: Settings) -> str:
    """Create the replay's output topics and submit it; returns the Flink job id."""
    created = stack.create_topics(settings, [settings.output_topic(t) for t in names(OUTPUT_TOPICS)])
    if created:
        stack.say(f"created topics: {', '.join(created)}")
    job_id = flink_jobs.submit(settings)
    flink_jobs.wait_running(settings, job_id)
    return job_id


def _decisions(records: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Mapping[str, Any]], dict[str, set[str]]]:
    turns: dict[str, Mapping[str, Any]] = {}
    replies: dict[str, set[str]] = {}
    for record in records:
        if record.get("record_type") == "turn":
            turns[record["event_id"]] = record
        elif record.get("record_type") == "suggestion" and record["status"] == "shown" and record["kind"] == "reply":
            replies.setdefault(record["event_id"], set()).add(str(record["template_id"]))
    return turns, replies


def compare_audits(live: Iterable[Mapping[str, Any]], replay: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Turn-by-turn differences between two audit streams of the same input."""
    live_turns, live_replies = _decisions(live)
    replay_turns, replay_replies = _decisions(replay)
    both = sorted(set(live_turns) & set(replay_turns))
    changes = Counter(
        f"{live_turns[e]['scores']['intent']} -> {replay_turns[e]['scores']['intent']}"
        for e in both
        if live_turns[e]["scores"]["intent"] != replay_turns[e]["scores"]["intent"]
    )
    with_replies = [e for e in both if e in live_replies or e in replay_replies]
    reply_changed = sum(1 for e in with_replies if live_replies.get(e) != replay_replies.get(e))
    return {
        "turns_live": len(live_turns),
        "turns_replayed": len(replay_turns),
        "turns_compared": len(both),
        "intent_agreement": (len(both) - sum(changes.values())) / len(both) if both else None,
        "intent_changes": dict(changes.most_common()),
        "turns_with_replies": len(with_replies),
        "reply_template_changed": reply_changed,
        "model_versions_live": sorted({json.dumps(live_turns[e]["model_versions"], sort_keys=True) for e in both}),
        "model_versions_replay": sorted({json.dumps(replay_turns[e]["model_versions"], sort_keys=True) for e in both}),
    }


def _read_all(settings: Settings, topic: str, idle_timeout: float) -> list[dict]:
    consumer = consumer_from_start(settings, [topic], read_committed=True)
    try:
        return [value for _, value in messages(consumer, idle_timeout)]
    finally:
        consumer.close()


def _start(args: argparse.Namespace) -> int:
    settings = replay_settings(args.name, args.intent_model)
    job_id = start_replay(settings)
    stack.say(f"{settings.job_name} running as {job_id}; output in {settings.output_topic('*')}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    settings = replay_settings(args.name)
    live = _read_all(settings, AUDIT.name, args.idle_timeout)
    replay = _read_all(settings, settings.output_topic(AUDIT.name), args.idle_timeout)
    result = compare_audits(live, replay)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    agreement = result["intent_agreement"]
    print(
        f"turns compared: {result['turns_compared']} (live {result['turns_live']}, replayed {result['turns_replayed']})"
    )
    print(f"intent agreement: {'-' if agreement is None else f'{100 * agreement:.1f}%'}")
    for change, count in list(result["intent_changes"].items())[:10]:
        print(f"  {count:5d}  {change}")
    print(f"reply template changed on {result['reply_template_changed']} of {result['turns_with_replies']} turns")
    return 0


def _stop(args: argparse.Namespace) -> int:
    settings = replay_settings(args.name)
    stack.say(f"cancelled {flink_jobs.cancel_all(settings)} job(s) named {settings.job_name}")
    return 0
