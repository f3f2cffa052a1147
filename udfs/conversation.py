"""Per-conversation state of the coaching job: small, bounded, JSON-serialisable, masked text only.

It lives in Flink keyed state (with a TTL for idle conversations), so every collection is capped:
at most `MAX_TURNS` recent turns of at most `MAX_TURN_CHARS` characters, `MAX_SENTIMENTS` customer
sentiments, and capped sets of intents, disclosures and raised-alert keys. A state's JSON stays
under ~4 KB whatever the conversation's length (tested).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

from udfs.pii import asked_for
from udfs.records import Policy
from udfs.understanding import Reading, asks_question

MAX_TURNS = 8
MAX_TURN_CHARS = 280
MAX_SENTIMENTS = 20
MAX_INTENTS = 20
MAX_DISCLOSURES = 32
MAX_RAISED = 64
MAX_SHOWN = 32


class ScoresLike(Protocol):
    """The fast-tier scores of a turn (udfs.scores.FastScores satisfies it)."""

    @property
    def intent(self) -> str:
        """Intent label."""

    @property
    def intent_confidence(self) -> float:
        """Intent confidence, 0..1."""

    @property
    def sentiment(self) -> float:
        """Sentiment, -1..1."""

    @property
    def escalation_risk(self) -> float:
        """Escalation risk, 0..1."""

    @property
    def compliance_risk(self) -> float:
        """Compliance risk of an agent turn, 0..1."""


def _plain(value: Any) -> Any:
    return [dict(v) if isinstance(v, Mapping) else v for v in value] if isinstance(value, tuple) else value


@dataclass(frozen=True)
class ConversationState:
    """What the job remembers about one conversation between turns."""

    conversation_id: str
    channel: str
    customer_id: str
    agent_id: str
    recent_turns: tuple[dict[str, Any], ...] = ()  # {event_id, seq, speaker, text (masked), intent, sentiment}
    sentiments: tuple[float, ...] = ()  # customer turns, oldest first
    intents_seen: tuple[str, ...] = ()  # intents customer turns were read as (not unclear), first-seen order
    topic: str | None = None  # what the conversation is about (udfs.understanding), never greeting/closing/other
    agent_asked: bool = False  # the agent's last turn asked the customer something
    shown_cards: tuple[str, ...] = ()  # "<template id>|<topic>" of library cards shown, so none is repeated
    disclosures_said: tuple[str, ...] = ()  # disclosure ids the agent has made
    raised: tuple[str, ...] = ()  # keys of hints and alerts already raised, so each is raised once
    turns: int = 0
    customer_turns: int = 0
    agent_turns: int = 0
    forbidden_phrase_hits: int = 0
    last_seq: int = -1
    last_event_ts: str | None = None
    policy_version: str | None = None
    awaiting_pii: str | None = None  # the PII type the agent's last turn asked for (e.g. "DOB"), never a value

    @classmethod
    def start(cls, turn: Mapping[str, Any]) -> ConversationState:
        """An empty state for the conversation of `turn`."""
        return cls(
            conversation_id=turn["conversation_id"],
            channel=turn["channel"],
            customer_id=turn["customer_id"],
            agent_id=turn["agent_id"],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (lists instead of tuples)."""
        # Shallow on purpose: `asdict` deep-copies every recent turn and cost ~0.7 ms per call.
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ConversationState:
        """Inverse of `to_dict`."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}  # state written by an older version may differ
        for name in ("recent_turns", "sentiments", "intents_seen", "disclosures_said", "raised", "shown_cards"):
            values[name] = tuple(values.get(name, ()))
        return cls(**values)

    def has_event(self, event_id: str) -> bool:
        """Whether this turn was already applied (a redelivery)."""
        return any(t["event_id"] == event_id for t in self.recent_turns)

    def is_redelivery(self, event_id: str, seq: int) -> bool:
        """A turn already applied, or one so far behind the latest that only a redelivery explains it.

        Only the last `MAX_TURNS` event ids are kept, so an older one is recognised by its `seq`.
        """
        return self.has_event(event_id) or seq <= self.last_seq - MAX_TURNS

    def was_raised(self, key: str) -> bool:
        """Whether a hint or alert with this key was already raised in this conversation."""
        return key in self.raised

    def with_raised(self, keys: Iterable[str]) -> ConversationState:
        """A copy that remembers more raised keys (oldest forgotten beyond the cap)."""
        new = tuple(k for k in dict.fromkeys(keys) if k not in self.raised)
        if not new:
            return self
        return replace(self, raised=(self.raised + new)[-MAX_RAISED:])

    def was_shown(self, template_id: str) -> bool:
        """Whether this template was shown while the conversation had its current topic."""
        return f"{template_id}|{self.topic}" in self.shown_cards

    def with_shown(self, template_ids: Iterable[str]) -> ConversationState:
        """A copy that remembers templates shown under the current topic (oldest forgotten beyond the cap)."""
        new = tuple(f"{t}|{self.topic}" for t in dict.fromkeys(template_ids) if not self.was_shown(t))
        if not new:
            return self
        return replace(self, shown_cards=(self.shown_cards + new)[-MAX_SHOWN:])

    def pending_disclosures(self, policy: Policy) -> list[tuple[str, str]]:
        """(intent, disclosure_id) pairs the policy requires for the intents seen and the agent has not made."""
        said = set(self.disclosures_said)
        return [
            (intent, d.disclosure_id)
            for intent in self.intents_seen
            for d in policy.disclosures_for(intent)
            if d.disclosure_id not in said
        ]


def _append(items: tuple[Any, ...], item: Any, cap: int) -> tuple[Any, ...]:
    return (items + (item,))[-cap:]


def update_state(
    state: ConversationState | None,
    turn: Mapping[str, Any],
    scores: ScoresLike,
    policy: Policy | None,
    reading: Reading | None = None,
) -> ConversationState:
    """The state after one masked turn; pure (the input state is not modified) and idempotent per event_id.

    `reading` is how a customer turn was read in context (None for agent turns).
    """
    current = state or ConversationState.start(turn)
    if current.has_event(turn["event_id"]):
        return current
    speaker = turn["speaker"]
    text = turn.get("text") or ""
    read = reading is not None and reading.clear
    summary = {
        "event_id": turn["event_id"],
        "seq": turn["seq"],
        "speaker": speaker,
        "text": text[:MAX_TURN_CHARS],
        "intent": reading.intent if reading is not None and read else None,
        "sentiment": round(scores.sentiment, 3),
    }
    changes: dict[str, Any] = {
        "recent_turns": _append(current.recent_turns, summary, MAX_TURNS),
        "turns": current.turns + 1,
        "last_seq": max(current.last_seq, int(turn["seq"])),
        "last_event_ts": max(current.last_event_ts or "", turn["ts"]),
        "policy_version": policy.version if policy else None,
    }
    # The agent's question tells what the customer's answer is: its next turn is masked for that type.
    changes["awaiting_pii"] = asked_for(text) if speaker == "agent" else None
    changes["agent_asked"] = speaker == "agent" and asks_question(text)
    if speaker == "customer":
        changes["customer_turns"] = current.customer_turns + 1
        changes["sentiments"] = _append(current.sentiments, round(scores.sentiment, 3), MAX_SENTIMENTS)
        if reading is not None:
            changes["topic"] = reading.topic
            if read and reading.intent not in current.intents_seen:
                changes["intents_seen"] = (current.intents_seen + (reading.intent,))[-MAX_INTENTS:]
    elif speaker == "agent":
        changes["agent_turns"] = current.agent_turns + 1
        if policy is not None:
            said = [d for d in policy.all_disclosures().values() if d.said_in(text)]
            new_ids = [d.disclosure_id for d in said if d.disclosure_id not in current.disclosures_said]
            if new_ids:
                changes["disclosures_said"] = (current.disclosures_said + tuple(new_ids))[-MAX_DISCLOSURES:]
            hits = len(policy.forbidden_in(text))
            if hits:
                changes["forbidden_phrase_hits"] = current.forbidden_phrase_hits + hits
    return replace(current, **changes)
