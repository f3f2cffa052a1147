"""Loader and validator of cuecard's hand-written evaluation conversations (format: models/eval/README.md).

The set is held out: nothing here may be used to train, tune templates or pick thresholds. Every file is
checked when loaded; a bad file raises `DatasetError` with one line naming the file, the turn and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from udfs.scores import INTENT_LABELS
from udfs.validation import validate

DEFAULT_DIR = Path(__file__).resolve().parent / "conversations"
UNCLEAR = "unclear"  # a person could not tell the intent from the conversation so far
CHANNELS = ("chat", "voice", "email")
SPEAKERS = ("customer", "agent")
MOODS = ("routine", "angry", "vulnerable", "fraud", "legal", "complaint")
CARD_KINDS = ("reply", "knowledge", "next_action", "escalation", "compliance_alert")
ALERT_TYPES = tuple(
    "high_risk_intent escalation_risk angry_trajectory forbidden_phrase missing_disclosure compliance_risk"
    " agent_pii".split()
)
BREACH_RULES = ("forbidden_phrase", "compliance_risk", "agent_pii", "notice_contradiction")
# Names this set introduces; each is documented in README.md for whoever builds the rules.
NEW_CARD_KINDS = ("pii_nudge", "fraud_playbook")
NEW_ALERT_TYPES = ("app_scam", "notice_contradiction", "manager_requested", "customer_volunteered_pii")
NEW_NAMES = (UNCLEAR, *NEW_CARD_KINDS, *NEW_ALERT_TYPES)
# Situation tags (README.md says what each tests).
SITUATIONS = tuple(
    """double_charge_card_mention safe_account_scam customer_reads_pii booking_reference_answer dob_verification
    agent_warns_not_to_share agent_denies_recording forbidden_inflection manager_after_other_alert topic_change
    card_fraud phishing bereavement illness financial_hardship confusion legal_threat complaint refund delivery
    billing_dispute address_change password_reset cancellation agent_pii_readback agent_asks_secret""".split()
)
GAP_SECONDS = {"chat": 25, "voice": 9, "email": 5400}  # default time between turns
_CONVERSATION_KEYS = set(
    "conversation_id channel title moods situations reading_sample customer_id agent_id started_at notes turns".split()
)
_TURN_KEYS = {"speaker", "text", "delay_s", "expect"}
_EXPECT_KEYS = set("intent topic cards_must_include cards_must_not_include alerts alerts_optional breach note".split())


class DatasetError(ValueError):
    """An evaluation file is malformed; the message is one line naming the file and turn."""


@dataclass(frozen=True, slots=True)
class CardMatch:
    """A card pattern: a shown card matches when its kind and template intent equal the given ones."""

    kind: str | None
    intent: str | None
    why: str


@dataclass(frozen=True, slots=True)
class Breach:
    """A planted agent breach: the rule it breaks and why."""

    rule: str
    why: str


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a correct system does on one turn."""

    intent: str | None  # customer turns: an INTENT_LABELS label or "unclear"
    topic: str | None  # the conversation's topic after this turn, when the author states it
    cards_must_include: tuple[CardMatch, ...]
    cards_must_not_include: tuple[CardMatch, ...]
    alerts: tuple[str, ...]  # exactly these alert types are raised on this turn ...
    alerts_optional: tuple[str, ...]  # ... plus any of these, which count neither way
    breach: Breach | None  # agent turns: None means the turn is clean


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn and its expectation."""

    seq: int
    speaker: str
    text: str
    ts: str
    expect: Expectation


@dataclass(frozen=True, slots=True)
class Conversation:
    """One hand-written conversation."""

    conversation_id: str
    channel: str
    title: str
    moods: tuple[str, ...]
    situations: tuple[str, ...]
    reading_sample: bool
    customer_id: str
    agent_id: str
    turns: tuple[Turn, ...]
    path: Path

    @property
    def clean(self) -> bool:
        """True when no agent turn carries a planted breach."""
        return all(t.expect.breach is None for t in self.turns)

    def events(self) -> list[dict[str, Any]]:
        """The turns as conversation_event.v1 records, ready for the local runner."""
        keys = {"conversation_id": self.conversation_id, "channel": self.channel, "schema_version": 1}
        ids = {"customer_id": self.customer_id, "agent_id": self.agent_id}
        return [
            {"event_id": f"{self.conversation_id}:{t.seq}", **keys, **ids, "seq": t.seq, "ts": t.ts}
            | {"speaker": t.speaker, "text": t.text}
            for t in self.turns
        ]


def _need(raw: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    """raw[key] if it has type `kind` (a bool is not accepted where another type is wanted)."""
    if key not in raw or not isinstance(raw[key], kind) or isinstance(raw[key], bool) is not (kind is bool):
        raise DatasetError(f"{where}: '{key}' is missing or not a {getattr(kind, '__name__', kind)}")
    return raw[key]


def _names(raw: Any, allowed: tuple[str, ...], what: str, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or any(v not in allowed for v in raw):
        raise DatasetError(f"{where}: {what} must be a list of {', '.join(allowed)}; got {raw!r}")
    return tuple(raw)


def _matches(raw: Any, where: str) -> tuple[CardMatch, ...]:
    out = []
    for item in raw or []:
        item = item if isinstance(item, dict) else {}
        kind, intent = item.get("kind"), item.get("intent")
        known = kind in (None, *CARD_KINDS, *NEW_CARD_KINDS) and intent in (None, *INTENT_LABELS)
        if not known or kind is intent is None or not item.get("why") or set(item) - {"kind", "intent", "why"}:
            raise DatasetError(f"{where}: a card pattern needs a known 'kind' and/or 'intent' plus 'why'; got {item!r}")
        out.append(CardMatch(kind, intent, item["why"]))
    return tuple(out)


def _expectation(raw: Mapping[str, Any], speaker: str, where: str) -> Expectation:
    if unknown := set(raw) - _EXPECT_KEYS:
        raise DatasetError(f"{where}: unknown expect key(s) {sorted(unknown)}")
    labels = (*INTENT_LABELS, UNCLEAR)
    intent, topic, breach = raw.get("intent"), raw.get("topic"), None
    if speaker == "customer" and intent not in labels:
        raise DatasetError(f"{where}: expect.intent {intent!r} is not an intent label or 'unclear'")
    if topic is not None and topic not in INTENT_LABELS:
        raise DatasetError(f"{where}: expect.topic {topic!r} is not an intent label")
    if speaker == "agent":
        value = raw.get("breach")
        if value is not False and not (
            isinstance(value, dict) and value.get("rule") in BREACH_RULES and value.get("why")
        ):
            raise DatasetError(f"{where}: expect.breach must be false or {{rule: one of {BREACH_RULES}, why}}")
        breach = Breach(value["rule"], value["why"]) if value else None
    kinds = ALERT_TYPES + NEW_ALERT_TYPES
    return Expectation(
        intent=intent,
        topic=topic,
        cards_must_include=_matches(raw.get("cards_must_include"), where),
        cards_must_not_include=_matches(raw.get("cards_must_not_include"), where),
        alerts=_names(raw.get("alerts"), kinds, "expect.alerts", where),
        alerts_optional=_names(raw.get("alerts_optional", []), kinds, "expect.alerts_optional", where),
        breach=breach,
    )


def parse_conversation(raw: Mapping[str, Any], path: Path) -> Conversation:
    """One conversation from its parsed JSON; raises DatasetError naming the file and turn."""
    if unknown := set(raw) - _CONVERSATION_KEYS:
        raise DatasetError(f"{path.name}: unknown key(s) {sorted(unknown)}")
    cid, channel = _need(raw, "conversation_id", str, path.name), _need(raw, "channel", str, path.name)
    if channel not in CHANNELS or cid != path.stem:
        raise DatasetError(f"{path.name}: channel must be one of {CHANNELS} and conversation_id equal the file name")
    start = datetime.fromisoformat(_need(raw, "started_at", str, path.name).replace("Z", "+00:00"))
    turns, ts = [], start
    for seq, item in enumerate(_need(raw, "turns", list, path.name)):
        where = f"{path.name}: turn {seq}"
        if not isinstance(item, dict) or set(item) - _TURN_KEYS or item.get("speaker") not in SPEAKERS:
            raise DatasetError(f"{where}: needs speaker (customer|agent), text, expect and optional delay_s")
        ts = ts + timedelta(seconds=item.get("delay_s", GAP_SECONDS[channel]) if seq else 0)
        expect = _expectation(_need(item, "expect", dict, where), item["speaker"], where)
        stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        turns.append(Turn(seq, item["speaker"], _need(item, "text", str, where), stamp, expect))
    conversation = Conversation(
        conversation_id=cid,
        channel=channel,
        title=_need(raw, "title", str, path.name),
        moods=_names(raw.get("moods"), MOODS, "moods", path.name),
        situations=_names(raw.get("situations", []), SITUATIONS, "situations", path.name),
        reading_sample=_need(raw, "reading_sample", bool, path.name),
        customer_id=_need(raw, "customer_id", str, path.name),
        agent_id=_need(raw, "agent_id", str, path.name),
        turns=tuple(turns),
        path=path,
    )
    for seq, event in enumerate(conversation.events()):
        if error := validate("conversation_event", event):
            raise DatasetError(f"{path.name}: turn {seq}: not a valid conversation event: {error}")
    return conversation


def load_conversations(path: Path | str | None = None) -> list[Conversation]:
    """Every conversation under `path` (a folder of *.json, or one file), sorted by id, each validated."""
    root = Path(path) if path is not None else DEFAULT_DIR
    files = sorted(root.glob("*.json")) if root.is_dir() else [root]
    if not files:
        raise DatasetError(f"{root}: no conversation files (*.json) found")
    out = []
    for file in files:
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{file.name}: cannot be read as JSON: {exc}") from exc
        out.append(parse_conversation(raw, file))
    ids = [c.conversation_id for c in out]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{root}: duplicate conversation ids")
    return sorted(out, key=lambda c: c.conversation_id)
