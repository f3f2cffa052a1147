"""`cuecard eval`: the coaching core against the hand-written evaluation set, through the local runner.

The bundled policy goes in first, then every conversation's turns in order; what the core published
(cards and alerts) and audited (its reading of each turn) is scored by `models.eval.metrics`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import orjson

from models.eval.dataset import UNCLEAR, Conversation, DatasetError, load_conversations
from models.eval.metrics import Card, Observed, Report, percentile_line, score
from udfs.envelopes import Outcome, RawRecord
from udfs.model_registry import ModelError
from udfs.records import load_policy_file
from udfs.runner import LocalRunner
from udfs.settings import load_settings
from udfs.stages import CoachingCore
from udfs.topics import CONVERSATION_EVENTS, POLICIES

# A turn's masked text and the cards it showed.
Shown = tuple[str, list[Mapping[str, Any]]]
EVAL_POLICY_VERSION = 2  # the policy the expectations were written against (models/eval/README.md)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `eval` command."""
    cmd = subparsers.add_parser(
        "eval",
        help="score the coaching core on the hand-written evaluation conversations (no stack needed)",
        description="Run the held-out conversations of models/eval/conversations (or PATH) through the job's "
        "stages locally, under the bundled policy they were written against, and report intent accuracy by "
        "channel, recall on high-risk intents, the share of per-turn expectations met, alert precision and "
        "recall by type, breaches flagged, false compliance flags and cards per turn; then print the reading "
        "sample's cards for a person to read. CUECARD_DEEP_TIER=off scores the fast tier only. "
        "Exit status 1 if a --min-* bound is missed.",
    )
    cmd.add_argument("path", nargs="?", type=Path, help="a conversation file or folder (default: the bundled set)")
    cmd.add_argument("--failures", action="store_true", help="list every failed expectation")
    cmd.add_argument("--no-sample", action="store_true", help="do not print the reading sample")
    cmd.add_argument("--markdown", action="store_true", help="print the figures as a markdown table (REPORT.md)")
    cmd.add_argument("--min-expectations", type=float, metavar="SHARE", help="fail below this pass rate (0..1)")
    cmd.add_argument("--min-intent", type=float, metavar="SHARE", help="fail below this intent accuracy (0..1)")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of `cuecard eval`."""
    for bound in (args.min_expectations, args.min_intent):
        if bound is not None and not 0.0 <= bound <= 1.0:
            print(f"cuecard eval: error: a --min-* bound is a share between 0 and 1, got {bound}", file=sys.stderr)
            return 2
    try:
        conversations = load_conversations(args.path)
        core = CoachingCore.load(load_settings())
    except (DatasetError, ModelError) as err:
        print(f"cuecard eval: error: {err}", file=sys.stderr)
        return 2
    observed, samples = run_conversations(core, conversations)
    report = score(conversations, observed)
    out = sys.stdout
    (print_markdown if args.markdown else print_report)(report, out)
    if args.failures:
        print("\nfailed expectations:", file=out)
        for line in report.failures:
            print(f"  {line}", file=out)
    if not args.no_sample:
        print_sample([c for c in conversations if c.reading_sample], samples, out)
    low = [
        name
        for name, bound, ratio in (
            ("expectations", args.min_expectations, report.expectations),
            ("intent", args.min_intent, report.intent),
        )
        if bound is not None and (ratio.value or 0.0) < bound
    ]
    if low:
        print(f"cuecard eval: below the bound: {', '.join(low)}", file=sys.stderr)
    return 1 if low else 0


def run_conversations(
    core: CoachingCore, conversations: Sequence[Conversation]
) -> tuple[dict[str, Observed], dict[str, Shown]]:
    """Every turn's observation by event id, and its masked text and shown cards (for the reading sample)."""
    runner = LocalRunner(core)
    policy = load_policy_file(EVAL_POLICY_VERSION)
    runner.feed(RawRecord(POLICIES.name, 0, 0, 0, policy["policy_id"].encode(), orjson.dumps(policy)))
    observed: dict[str, Observed] = {}
    shown: dict[str, Shown] = {}
    for offset, conv in enumerate(conversations):
        for event in conv.events():
            # Produced now, as the job would see it live: the deep tier's deadline counts from here.
            now_ms = int(time.time() * 1000)
            raw = RawRecord(
                CONVERSATION_EVENTS.name, 0, offset, now_ms, conv.conversation_id.encode(), orjson.dumps(event)
            )
            outcome = runner.feed(raw)
            observed[event["event_id"]] = observe(outcome)
            shown[event["event_id"]] = (turn_record(outcome).get("masked_text", ""), on_screen(outcome.suggestions))
    return observed, shown


def turn_record(outcome: Outcome) -> Mapping[str, Any]:
    """The `turn` audit record of an outcome (empty if the turn was rejected)."""
    return next((a for a in outcome.audit if a["record_type"] == "turn"), {})


def observe(outcome: Outcome) -> Observed:
    """What the evaluation scores of one turn's outputs."""
    reading = turn_record(outcome).get("reading") or {}
    cards = tuple(
        Card(s["kind"], s.get("intent"), tuple(s.get("rules_fired") or ()), s.get("text", ""))
        for s in on_screen(outcome.suggestions)
    )
    return Observed(
        intent=reading.get("intent") or UNCLEAR,
        topic=reading.get("topic"),
        cards=cards,
        alerts=tuple(a["alert_type"] for a in outcome.alerts),
    )


def on_screen(suggestions: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """What the desktop shows after applying every update in place: a card its update `supersedes` is gone."""
    replaced = {s["supersedes"] for s in suggestions if s.get("supersedes")}
    return [s for s in suggestions if s["suggestion_id"] not in replaced]


def print_report(report: Report, out: TextIO) -> None:
    """The figures, one per line."""
    print(f"conversations {report.conversations} ({report.clean_conversations} clean)", file=out)
    print(f"intent accuracy       {report.intent}", file=out)
    for channel, ratio in sorted(report.intent_by_channel.items()):
        print(f"  {channel:<19} {ratio}", file=out)
    for intent, ratio in report.high_risk_recall.items():
        print(f"recall {intent:<14} {ratio}", file=out)
    print(f"topic accuracy        {report.topic}", file=out)
    print(f"expectations met      {report.expectations}", file=out)
    print(f"breaches flagged      {report.breaches_flagged}", file=out)
    per = report.false_compliance_flags / max(1, report.clean_conversations) * 5
    print(f"false compliance flags {report.false_compliance_flags} ({per:.2f} per 5 clean conversations)", file=out)
    print(f"cards per customer turn {percentile_line(report.cards_per_customer_turn)}", file=out)
    print("alerts (precision, recall):", file=out)
    for kind, precision, recall in report.alert_table():
        print(f"  {kind:<26} {precision!s:<20} {recall}", file=out)


def print_markdown(report: Report, out: TextIO) -> None:
    """The same figures as a markdown table."""
    rows = [("intent accuracy", str(report.intent))]
    rows += [(f"intent accuracy, {c}", str(r)) for c, r in sorted(report.intent_by_channel.items())]
    rows += [(f"recall, {i}", str(r)) for i, r in report.high_risk_recall.items()]
    rows += [("topic accuracy", str(report.topic)), ("expectations met", str(report.expectations))]
    rows += [("planted breaches flagged", str(report.breaches_flagged))]
    rows += [("false compliance flags", f"{report.false_compliance_flags} in {report.clean_conversations} clean")]
    rows += [("cards per customer turn", percentile_line(report.cards_per_customer_turn))]
    rows += [(f"alert `{k}` precision / recall", f"{p} / {r}") for k, p, r in report.alert_table()]
    print("| figure | value |\n| --- | --- |", file=out)
    for name, value in rows:
        print(f"| {name} | {value} |", file=out)


def print_sample(conversations: Sequence[Conversation], shown: Mapping[str, Shown], out: TextIO) -> None:
    """The reading sample: each turn as the job masked it, and the cards it got."""
    for conv in conversations:
        print(f"\n== {conv.conversation_id} ({conv.channel}): {conv.title}", file=out)
        for turn in conv.turns:
            text, cards = shown.get(f"{conv.conversation_id}:{turn.seq}", ("", []))
            print(f"  {turn.speaker:>8}: {text[:150]}", file=out)
            for card in cards:
                reason = card.get("reason") or ", ".join(card.get("rules_fired") or ())
                print(f"           -> [{card['kind']}] {card['text'][:110]}  ({reason})", file=out)
