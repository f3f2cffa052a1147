"""Shared pieces of the PII detectors: the phrase tables under `udfs/pii_data/` and regex helpers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "pii_data"
# claim(start, end, pii_type, token): record a span unless it overlaps one already claimed.
Claim = Callable[[int, int, str, str], None]

DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "nought": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
DIGIT_WORD = "|".join(DIGIT_WORDS)


@cache
def table(name: str) -> dict[str, Any]:
    """The phrase table `udfs/pii_data/<name>.json` (read once per process)."""
    data: dict[str, Any] = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data


def words(items: Iterable[str]) -> str:
    """A regex alternation of literal phrases, longest first; spaces match any run of whitespace."""
    escaped = (re.escape(item).replace(r"\ ", r"\s+") for item in sorted(set(items), key=len, reverse=True))
    return "(?:" + "|".join(escaped) + ")"


def fragments(items: Iterable[str]) -> str:
    """A regex alternation of regex fragments (already patterns), longest first."""
    return "(?:" + "|".join(sorted(set(items), key=len, reverse=True)) + ")"
