"""The working set of coaching one turn: what every card and alert of the turn shares, and the builders.

`TurnWork` holds the turn, its context, state, policy and scores; its `suggestion`, `rule_card` and
`alert` methods stamp each output with deterministic ids, the policy version and the model versions,
and `once` makes a hint or alert fire once per conversation. The decisions are in `udfs.coaching`
(customer turns) and `udfs.agent_coaching` (agent turns).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from udfs.conversation import ConversationState, ScoresLike
from udfs.guardrails import text_guard
from udfs.pii import mask_pii
from udfs.records import Alert, Policy, Suggestion, alert_id, slot_id, suggestion_id
from udfs.understanding import Reading

RULE_CARDS: dict[str, Any] = json.loads((Path(__file__).resolve().parent / "policies" / "rule_cards.json").read_text())


@dataclass(frozen=True)
class JoinedContext:
    """The context joined to a turn: latest customer context and agent state, and what was missing."""

    customer: Mapping[str, Any] | None
    agent: Mapping[str, Any] | None
    context_missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoachingResult:
    """Everything one turn produced: all suggestion outcomes, supervisor alerts and the new state."""

    suggestions: tuple[Suggestion, ...]
    alerts: tuple[Alert, ...]
    new_state: ConversationState
    reading: Reading | None = None  # how a customer turn was read (None for agent turns and redeliveries)

    @property
    def shown(self) -> tuple[Suggestion, ...]:
        """The suggestions to publish to `coaching.suggestions`."""
        return tuple(s for s in self.suggestions if s.status == "shown")


@dataclass
class TurnWork:
    """Per-call working set: the fields every suggestion and alert of this turn shares."""

    turn: Mapping[str, Any]
    context: JoinedContext
    state: ConversationState
    policy: Policy | None
    rules: Policy
    scores: ScoresLike
    degraded: bool
    model_versions: Mapping[str, str]
    reading: Reading | None
    suggestions: list[Suggestion] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    raised: list[str] = field(default_factory=list)

    @property
    def channel(self) -> str:
        """The turn's channel."""
        return str(self.turn["channel"])

    def once(self, key: str) -> bool:
        """True the first time a key is raised in this conversation (and remembers it)."""
        if self.state.was_raised(key) or key in self.raised:
            return False
        self.raised.append(key)
        return True

    def suggestion(
        self,
        kind: str,
        status: str,
        text: str,
        confidence: float,
        rules: list[str],
        *,
        template_id: str | None,
        rule_id: str | None,
        intent: str | None,
        human_review: bool,
        reason: str,
    ) -> Suggestion:
        """A candidate card of this turn with its deterministic id and slot (arguments as in `Suggestion`)."""
        version = self.policy.version if self.policy else None
        conversation, event = self.turn["conversation_id"], self.turn["event_id"]
        return Suggestion(
            suggestion_id=suggestion_id(
                self.turn["conversation_id"],
                self.turn["event_id"],
                kind,
                template_id or f"rule:{rule_id}",
                version,
                self.model_versions,
            ),
            conversation_id=self.turn["conversation_id"],
            event_id=self.turn["event_id"],
            agent_id=self.turn["agent_id"],
            customer_id=self.turn["customer_id"],
            channel=self.channel,
            kind=kind,
            status=status,
            text=text,
            confidence=round(min(1.0, max(0.0, confidence)), 4),
            intent=intent,
            template_id=template_id,
            human_review=human_review,
            degraded=self.degraded,
            rules_fired=tuple(dict.fromkeys(rules)),
            model_versions=self.model_versions,
            policy_id=self.policy.policy_id if self.policy else None,
            policy_version=version,
            reason=reason[:300],
            slot_id=slot_id(conversation, event, kind if template_id else f"rule:{rule_id}"),
            rule_id=rule_id,
        )

    def alert(self, alert_type: str, severity: str, detail: str, message: str, rules: list[str]) -> None:
        """Raise a supervisor alert on this turn (`detail` makes its id unique among the turn's alerts)."""
        version = self.policy.version if self.policy else None
        agent = self.context.agent or {}
        self.alerts.append(
            Alert(
                alert_id=alert_id(self.turn["conversation_id"], self.turn["event_id"], alert_type, detail, version),
                alert_type=alert_type,
                severity=severity,
                conversation_id=self.turn["conversation_id"],
                event_id=self.turn["event_id"],
                agent_id=self.turn["agent_id"],
                customer_id=self.turn["customer_id"],
                supervisor_id=agent.get("supervisor_id"),
                channel=self.channel,
                intent=self.state.topic,
                message=message,
                rules_fired=tuple(rules),
                human_review=alert_type in ("high_risk_intent", "agent_pii"),
                scores=scores_dict(self.scores),
                policy_id=self.policy.policy_id if self.policy else None,
                policy_version=version,
                model_versions=self.model_versions,
            )
        )

    def rule_card(
        self,
        kind: str,
        rule_id: str,
        text: str,
        confidence: float,
        rules: list[str],
        *,
        reason: str,
        human_review: bool = False,
    ) -> None:
        """A rule-made card (compliance alert or escalation hint), guarded like every other text."""
        blocking = text_guard(text, self.rules)
        if blocking:
            text = mask_pii(text).masked_text
        status = "blocked" if blocking else "shown"
        self.suggestions.append(
            self.suggestion(
                kind,
                status,
                text,
                confidence,
                rules + blocking,
                template_id=None,
                rule_id=rule_id,
                intent=self.state.topic,
                human_review=human_review,
                reason=reason,
            )
        )


def scores_dict(scores: ScoresLike) -> dict[str, Any]:
    """The scores as the `scores` object of alerts and audit records."""
    return {
        "intent": scores.intent,
        "intent_confidence": round(float(scores.intent_confidence), 4),
        "sentiment": round(float(scores.sentiment), 4),
        "escalation_risk": round(float(scores.escalation_risk), 4),
        "compliance_risk": round(float(scores.compliance_risk), 4),
    }
