"""Typed records of the coaching layer: the active policy, suggestions, supervisor alerts, and their ids.

Ids are deterministic so a replayed or retried turn yields the same ids and consumers de-duplicate:

- `suggestion_id` = sha256 hex of the UTF-8 bytes of these fields joined by the unit separator
  U+001F: conversation_id, event_id, kind, template_id (for rule-made cards, which have no template,
  the rule id, e.g. `rule:missing_disclosure:refund_timeline`), policy_version ("" if none), and the
  model versions as `name=version` pairs sorted by name and joined by ",".
- `alert_id` = the same construction over conversation_id, event_id, "alert", alert_type, detail
  (what the alert is about, e.g. the intent or the phrase) and policy_version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from udfs.phrases import compile_phrases, phrase_regex, phrases_in

SCHEMA_VERSION = 1
POLICY_DIR = Path(__file__).resolve().parent / "policies"
DEFAULT_ANGRY_SENTIMENT = -0.5
DEFAULT_ANGRY_TURNS = 3
_SEP = "\x1f"


def _sha(*parts: str) -> str:
    return hashlib.sha256(_SEP.join(parts).encode("utf-8")).hexdigest()


def _versions_key(model_versions: Mapping[str, str]) -> str:
    return ",".join(f"{name}={model_versions[name]}" for name in sorted(model_versions))


def suggestion_id(
    conversation_id: str,
    event_id: str,
    kind: str,
    template_or_rule_id: str,
    policy_version: str | None,
    model_versions: Mapping[str, str],
) -> str:
    """Deterministic suggestion id (see the module docstring for the exact construction)."""
    return _sha(
        conversation_id, event_id, kind, template_or_rule_id, policy_version or "", _versions_key(model_versions)
    )


def slot_id(conversation_id: str, event_id: str, slot: str) -> str:
    """Id of a card's place on the desktop for one turn: the kind for library cards, the rule for rule cards."""
    return _sha(conversation_id, event_id, "slot", slot)


def alert_id(conversation_id: str, event_id: str, alert_type: str, detail: str, policy_version: str | None) -> str:
    """Deterministic alert id (see the module docstring)."""
    return _sha(conversation_id, event_id, "alert", alert_type, detail, policy_version or "")


@dataclass(frozen=True, slots=True)
class Disclosure:
    """A statement the agent must make; said when every keyword occurs in one agent turn.

    A keyword matches as a word prefix ("investigat" in "investigated") with its numbers said or
    written ("30 days" in a voice agent's "thirty days").
    """

    disclosure_id: str
    text: str
    keywords: tuple[str, ...]
    _patterns: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def of(cls, disclosure_id: str, text: str, keywords: tuple[str, ...]) -> Disclosure:
        """A disclosure with its keyword patterns compiled."""
        patterns = tuple(re.compile(rf"(?<!\w){phrase_regex(k)}", re.I) for k in keywords)
        return cls(disclosure_id, text, keywords, patterns)

    def said_in(self, text: str) -> bool:
        """Whether an agent turn makes this disclosure."""
        return all(p.search(text) for p in self._patterns)


@dataclass(frozen=True)
class Policy:
    """The active coaching policy (policy.v1 schema), with its forbidden phrases compiled once."""

    policy_id: str
    version: str
    effective_at: str
    forbidden_phrases: tuple[str, ...]
    required_disclosures: Mapping[str, tuple[Disclosure, ...]]
    channel_limits: Mapping[str, tuple[int, bool]]
    high_risk_intents: frozenset[str]
    escalation_risk: float
    compliance_risk: float
    min_confidence: float
    angry_sentiment: float = DEFAULT_ANGRY_SENTIMENT
    angry_turns: int = DEFAULT_ANGRY_TURNS
    _phrases: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _by_id: Mapping[str, Disclosure] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Policy:
        """Build from a record that passed the policy schema."""
        thresholds = raw["thresholds"]
        phrases = tuple(raw["forbidden_phrases"])
        required = {
            intent: tuple(
                Disclosure.of(d["disclosure_id"], d["text"], tuple(k.lower() for k in d["keywords"])) for d in items
            )
            for intent, items in raw["required_disclosures"].items()
        }
        return cls(
            policy_id=raw["policy_id"],
            version=raw["version"],
            effective_at=raw["effective_at"],
            forbidden_phrases=phrases,
            required_disclosures=required,
            channel_limits={c: (int(v["max_chars"]), bool(v["formal"])) for c, v in raw["channel_limits"].items()},
            high_risk_intents=frozenset(raw["high_risk_intents"]),
            escalation_risk=float(thresholds["escalation_risk"]),
            compliance_risk=float(thresholds["compliance_risk"]),
            min_confidence=float(thresholds["min_confidence"]),
            angry_sentiment=float(thresholds.get("angry_sentiment", DEFAULT_ANGRY_SENTIMENT)),
            angry_turns=int(thresholds.get("angry_turns", DEFAULT_ANGRY_TURNS)),
            _phrases=compile_phrases(phrases),
            _by_id={d.disclosure_id: d for items in required.values() for d in items},
        )

    @classmethod
    def load_default(cls, version: int = 1) -> Policy:
        """The bundled default policy `udfs/policies/default.v<version>.json`."""
        return cls.from_dict(load_policy_file(version))

    def forbidden_in(self, text: str) -> list[str]:
        """The forbidden phrases that occur in `text`, in any inflection or spoken form (see `udfs.phrases`)."""
        return phrases_in(self._phrases, self.forbidden_phrases, text)

    def disclosures_for(self, intent: str) -> tuple[Disclosure, ...]:
        """The disclosures an intent requires (empty if none)."""
        return self.required_disclosures.get(intent, ())

    def all_disclosures(self) -> Mapping[str, Disclosure]:
        """Every disclosure the policy names, by id."""
        return self._by_id


def load_policy_file(version: int = 1) -> dict[str, Any]:
    """The raw JSON of a bundled default policy, as produced to `coaching.policies`."""
    policy: dict[str, Any] = json.loads((POLICY_DIR / f"default.v{version}.json").read_text(encoding="utf-8"))
    return policy


def newer_policy(current: Mapping[str, Any] | None, candidate: Mapping[str, Any]) -> bool:
    """Whether a policy update replaces the active one: a higher (effective_at, version) wins.

    Updates can arrive twice after a restart or out of order across partitions; comparing versions
    keeps the active policy monotonic instead of last-writer-wins.
    """
    if current is None:
        return True
    return (str(candidate.get("effective_at", "")), _version_key(candidate.get("version"))) > (
        str(current.get("effective_at", "")),
        _version_key(current.get("version")),
    )


def _version_key(version: Any) -> tuple[int | str, ...]:
    return tuple(int(part) if part.isdigit() else part for part in str(version or "").split("."))


_POLICY_CACHE: dict[tuple[str, str, str], Policy] = {}
_POLICY_CACHE_MAX = 16


def policy_from(raw: Policy | Mapping[str, Any] | None) -> Policy | None:
    """A typed policy from broadcast state (a dict), parsed once per (policy_id, version, effective_at)."""
    if raw is None or isinstance(raw, Policy):
        return raw
    key = (str(raw["policy_id"]), str(raw["version"]), str(raw["effective_at"]))
    policy = _POLICY_CACHE.get(key)
    if policy is None:
        if len(_POLICY_CACHE) >= _POLICY_CACHE_MAX:
            _POLICY_CACHE.clear()
        policy = _POLICY_CACHE[key] = Policy.from_dict(raw)
    return policy


@dataclass(frozen=True)
class Suggestion:
    """One candidate coaching card and its outcome (suggestion.v1 schema, without latency and time)."""

    suggestion_id: str
    conversation_id: str
    event_id: str
    agent_id: str
    customer_id: str
    channel: str
    kind: str
    status: str
    text: str
    confidence: float
    intent: str | None
    template_id: str | None
    human_review: bool
    degraded: bool
    rules_fired: tuple[str, ...]
    model_versions: Mapping[str, str]
    policy_id: str | None
    policy_version: str | None
    reason: str = ""  # one line for the agent and the audit: intent and confidence, rule, or knowledge id
    slot_id: str = ""  # the card's place on the desktop; an update that replaces it keeps the slot
    supersedes: str | None = None  # the suggestion_id this card replaces in place
    rule_id: str | None = None  # the rule that made a rule card (None for library cards)

    def as_shadow(self) -> Suggestion:
        """The same card as the challenger's: audited with status `shadow`, never published."""
        return replace(self, status="shadow")

    def to_dict(self, created_at: str, latency_ms: Mapping[str, float] | None = None) -> dict[str, Any]:
        """The suggestion.v1 JSON object."""
        return {
            "suggestion_id": self.suggestion_id,
            "conversation_id": self.conversation_id,
            "event_id": self.event_id,
            "agent_id": self.agent_id,
            "customer_id": self.customer_id,
            "channel": self.channel,
            "kind": self.kind,
            "status": self.status,
            "text": self.text,
            "confidence": self.confidence,
            "intent": self.intent,
            "template_id": self.template_id,
            "human_review": self.human_review,
            "degraded": self.degraded,
            "rules_fired": list(self.rules_fired),
            "model_versions": dict(self.model_versions),
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "reason": self.reason,
            "slot_id": self.slot_id,
            "supersedes": self.supersedes,
            "latency_ms": dict(latency_ms or {}),
            "created_at": created_at,
            "schema_version": SCHEMA_VERSION,
        }


@dataclass(frozen=True)
class Alert:
    """A supervisor alert (alert.v1 schema, without its creation time)."""

    alert_id: str
    alert_type: str
    severity: str
    conversation_id: str
    event_id: str
    agent_id: str
    customer_id: str
    supervisor_id: str | None
    channel: str
    intent: str | None
    message: str
    rules_fired: tuple[str, ...]
    human_review: bool
    scores: Mapping[str, Any]
    policy_id: str | None
    policy_version: str | None
    model_versions: Mapping[str, str]

    def to_dict(self, created_at: str) -> dict[str, Any]:
        """The alert.v1 JSON object."""
        return {
            "alert_id": self.alert_id,
            "alert_type": self.alert_type,
            "severity": self.severity,
            "conversation_id": self.conversation_id,
            "event_id": self.event_id,
            "agent_id": self.agent_id,
            "customer_id": self.customer_id,
            "supervisor_id": self.supervisor_id,
            "channel": self.channel,
            "intent": self.intent,
            "message": self.message,
            "rules_fired": list(self.rules_fired),
            "human_review": self.human_review,
            "scores": dict(self.scores),
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "model_versions": dict(self.model_versions),
            "created_at": created_at,
            "schema_version": SCHEMA_VERSION,
        }
