"""`cuecard score`: score JSON lines from stdin with the same scorer the coaching job uses."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from udfs.model_registry import ModelError
from udfs.scoring import TurnScorer
from udfs.settings import load_settings

SPEAKERS = ("customer", "agent", "system")
CHANNELS = ("chat", "email", "voice")
MAX_TEXT_CHARS = 8000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `score` command."""
    score = subparsers.add_parser(
        "score",
        help="score JSON lines {text, speaker, channel} from stdin; one JSON line out per line in",
        description='Read JSON lines {"text", "speaker", "channel"} on stdin and write one JSON line per '
        "input with intent, intent_confidence, sentiment, escalation_risk, compliance_risk and top_responses "
        "[{template_id, score}], using the coaching job's scorer (fast tier, then the deep tier within the "
        "channel's budget from CUECARD_CHANNEL_BUDGET_MS). A bad line is reported on stderr with its line "
        "number and skipped; the exit status is 1 if any line failed. Models come from CUECARD_MODELS_DIR "
        "(default .cache/models; build them with `make models`).",
    )
    score.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="folder of built model artifacts (env CUECARD_MODELS_DIR; default: .cache/models)",
    )
    score.add_argument("--top-k", type=int, default=3, help="templates to return per turn (default: %(default)s)")
    score.add_argument(
        "--budget-ms",
        type=float,
        default=None,
        help="deep-tier budget per turn in ms for every channel (default: per channel, env CUECARD_CHANNEL_BUDGET_MS)",
    )
    score.add_argument("--no-deep", action="store_true", help="fast tier only; top_responses come from the intent")
    score.add_argument("--shadow", action="store_true", help="add the challenger model's scores under `shadow`")
    score.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of `cuecard score`: 0 if every line scored, 1 if any line failed, 2 if models cannot load."""
    settings = load_settings()
    models_dir = args.models_dir or settings.models_dir
    budgets = settings.budgets
    if args.budget_ms is not None:
        budgets = {channel: args.budget_ms for channel in CHANNELS}
    try:
        scorer = TurnScorer.load(models_dir, budgets, deep=not args.no_deep)
    except ModelError as err:
        print(f"cuecard: error: {err}", file=sys.stderr)
        return 2
    failed = score_lines(scorer, sys.stdin, sys.stdout, sys.stderr, k=args.top_k, shadow=args.shadow)
    return 1 if failed else 0


def parse_line(line: str) -> tuple[str, str, str]:
    """Validate one input line; raises ValueError with a message fit for the user."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object with text, speaker and channel")
    text, speaker, channel = obj.get("text"), obj.get("speaker"), obj.get("channel")
    if not isinstance(text, str):
        raise ValueError('"text" must be a string')
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f'"text" has {len(text)} chars; the limit is {MAX_TEXT_CHARS}')
    if speaker not in SPEAKERS:
        raise ValueError(f'"speaker" must be one of {", ".join(SPEAKERS)}, got {speaker!r}')
    if channel not in CHANNELS:
        raise ValueError(f'"channel" must be one of {", ".join(CHANNELS)}, got {channel!r}')
    return text, speaker, channel


def score_lines(
    scorer: TurnScorer, lines: Iterable[str], out: TextIO, err: TextIO, *, k: int = 3, shadow: bool = False
) -> int:
    """Score every non-blank line; returns how many lines failed."""
    failed = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            text, speaker, channel = parse_line(line)
        except ValueError as bad:
            failed += 1
            print(f"cuecard score: line {number}: {bad}", file=err)
            continue
        turn = scorer.score(text, speaker, channel, k=k, shadow=shadow)
        result: dict[str, Any] = turn.fast.as_dict()
        deep = turn.deep
        assert deep is not None  # ranked: `rank` defaults to True
        result["top_responses"] = [{"template_id": r.template_id, "score": r.score} for r in deep.responses]
        result["degraded"] = deep.degraded
        if deep.reason:
            result["degraded_reason"] = deep.reason
        result["model_versions"] = scorer.model_versions
        if turn.shadow is not None:
            result["shadow"] = {**turn.shadow.as_dict(), "model_versions": scorer.fast.shadow_versions}
        out.write(json.dumps(result) + "\n")
        out.flush()
    return failed
