"""Situational rules: what is happening in a turn whatever the intent model reads (data: policies/situations.json).

Customer rules (a "safe account" scam, a request for a manager) name the intent the turn is read as,
and may bring a card and a supervisor alert. A customer volunteering card numbers, security codes,
SSNs or passwords unasked gets the agent a nudge. Agent rules catch statements that contradict a
required notice ("this call isn't recorded"). Patterns run on the masked text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from udfs.pii_context import SECRET_TYPES

_DATA: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "policies" / "situations.json").read_text(encoding="utf-8")
)


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """The supervisor alert a rule raises: type, severity, message."""

    alert_type: str
    severity: str
    message: str


@dataclass(frozen=True, slots=True)
class Situation:
    """One rule: its id, what it implies and the pattern that detects it."""

    situation_id: str
    pattern: re.Pattern[str]
    intent: str | None = None
    card_kind: str | None = None
    card_text: str | None = None
    alert: AlertSpec | None = None
    notice: str | None = None
    unless: re.Pattern[str] | None = None  # an exception stated in the same sentence

    def found_in(self, text: str) -> bool:
        """Whether the rule's pattern occurs in a masked text (in a sentence that states no exception)."""
        if self.unless is None:
            return self.pattern.search(text) is not None
        return any(self.pattern.search(s) and not self.unless.search(s) for s in _SENTENCES.split(text))


_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n+")


def _compile(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


def _alert(raw: Sequence[str] | None) -> AlertSpec | None:
    return AlertSpec(*raw) if raw else None


CUSTOMER_RULES = tuple(
    Situation(
        situation_id=name,
        pattern=_compile(rule["patterns"]),
        intent=rule.get("intent"),
        card_kind=rule.get("card"),
        card_text=rule.get("text"),
        alert=_alert(rule.get("alert")),
    )
    for name, rule in _DATA["customer"].items()
)
AGENT_RULES = tuple(
    Situation(
        situation_id=name,
        pattern=_compile(rule["patterns"]),
        notice=rule["notice"],
        unless=_compile(rule["unless"]) if rule.get("unless") else None,
    )
    for name, rule in _DATA["agent"].items()
)
_VOLUNTEERED = _DATA["volunteered_pii"]
VOLUNTEERED_TYPES = frozenset(_VOLUNTEERED["types"])
VOLUNTEERED_PII = Situation(
    situation_id="volunteered_pii",
    pattern=re.compile(r"(?!)"),  # detected from what masking found, not from text
    card_kind=_VOLUNTEERED["card"],
    card_text=_VOLUNTEERED["text"],
    alert=_alert(_VOLUNTEERED["alert"]),
)


def customer_situations(text: str) -> list[Situation]:
    """The customer rules a masked turn matches, in file order (the first one with an intent names it)."""
    return [rule for rule in CUSTOMER_RULES if rule.found_in(text)]


def volunteered(pii_types: Iterable[str], awaiting: str | None) -> list[str]:
    """The sensitive PII types a customer turn holds that the agent did not ask for."""
    asked = set((awaiting or "").upper().split("+"))
    if asked & SECRET_TYPES:  # a password, PIN or memorable word the agent asked for is masked as SECRET
        asked.add("SECRET")
    return sorted(t for t in VOLUNTEERED_TYPES.intersection(pii_types) if t not in asked)


SECRET_REQUEST = Situation(
    situation_id="agent_secret_request",
    pattern=_compile(_DATA["agent_secret_request"]["patterns"]),
    unless=_compile(_DATA["agent_secret_request"]["unless"]),
)


def asks_for_secret(text: str) -> bool:
    """Whether an agent turn asks for a PIN, password, full card number or security code (never allowed)."""
    return SECRET_REQUEST.found_in(text)


def contradicted_notices(text: str) -> list[Situation]:
    """The agent rules a masked agent turn matches: statements that contradict a required notice."""
    return [rule for rule in AGENT_RULES if rule.found_in(text)]
