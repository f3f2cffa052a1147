"""The coaching layer: from one scored, masked turn to suggestions for the agent and alerts for the supervisor.

`coach_turn` is the one entry point the Flink operator calls per turn. It is pure: same inputs, same
outputs (ids included). Every candidate suggestion gets an outcome - `shown`, `blocked` (the blocking
rules are in `rules_fired`) or `superseded` (a better candidate of the same kind was shown) - and all
of them are returned, so the job can audit each one.

Customer turns get reply, knowledge and next-action candidates from the approved library (the deep
tier's ranked templates first when given, else the fast tier's intent; empathetic tone first for an
upset customer; templates carrying a pending disclosure first), escalation hints and supervisor alerts
(escalation risk, angry trajectory, high-risk intents). Agent turns get compliance alerts: forbidden
phrases, model-flagged compliance risk, card or identity numbers read out, missing required disclosures.

Guardrails (rule ids in `rules_fired`):
- `context.policy_missing`: no active policy, so reply/knowledge/next-action are blocked (fail closed).
- `threshold.min_confidence`: intent confidence below the policy's minimum blocks library suggestions.
- `guardrail.high_risk_intent:<intent>` / `guardrail.high_risk_conversation:<intent>` /
  `context.customer_vulnerable`: replies are blocked and need human review; the supervisor is alerted.
- `policy.forbidden_phrase:<phrase>`: the suggestion text contains a forbidden phrase.
- `guardrail.pii:<TYPES>`: the suggestion text contains PII (the audited text is the masked one).
- `policy.channel_limit.max_chars:<channel>:<n>`, `policy.channel_limit.formal:<channel>`: replies only.
Informational (never blocking): `context.missing:<what>`, `rank.deep_tier`, `degraded.fast_tier_fallback`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from udfs.cards import card_key, select_cards
from udfs.conversation import ConversationState, ScoresLike, update_state
from udfs.guardrails import pii_types_in, text_guard
from udfs.pii import mask_pii
from udfs.records import Alert, Policy, Suggestion, alert_id, policy_from, slot_id, suggestion_id
from udfs.responses import ResponseLibrary, Template
from udfs.scores import RankedResponse
from udfs.situations import VOLUNTEERED_PII, Situation, contradicted_notices, customer_situations, volunteered
from udfs.understanding import Reading, read_turn

TEMPLATE_KINDS = ("reply", "knowledge", "next_action")
# Hints and alerts work without a policy (they only make the agent more careful); these are their defaults.
FALLBACK_POLICY = Policy(
    policy_id="",
    version="",
    effective_at="",
    forbidden_phrases=(),
    required_disclosures={},
    channel_limits={"chat": (300, False), "voice": (200, False), "email": (1200, True)},
    high_risk_intents=frozenset({"legal_threat", "fraud_report", "vulnerable_customer"}),
    escalation_risk=0.7,
    compliance_risk=0.6,
    min_confidence=0.5,
)
UPSET_SENTIMENT = -0.3  # at or below: empathetic templates first
SENSITIVE_PII = frozenset({"CARD", "CVV", "SSN", "IBAN"})
RULE_CARDS: dict[str, Any] = json.loads((Path(__file__).resolve().parent / "policies" / "rule_cards.json").read_text())
HIGH_RISK_HINTS: dict[str, str] = RULE_CARDS["high_risk"]


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
class _Turn:
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


def coach_turn(
    turn: Mapping[str, Any],
    context: JoinedContext,
    state: ConversationState | None,
    policy: Policy | Mapping[str, Any] | None,
    scores: ScoresLike,
    *,
    ranked: Sequence[RankedResponse] | None,
    degraded: bool,
    library: ResponseLibrary,
    model_versions: Mapping[str, str],
    pii_types: Sequence[str] = (),
) -> CoachingResult:
    """Coach one masked turn; pure. A redelivered turn (same event_id) returns no suggestions and the same state.

    `turn` is the validated, PII-masked conversation event; `policy` the active policy (dict from
    broadcast state, or None); `ranked` the deep tier's templates (None when it was skipped or
    unavailable, then `degraded` says whether that was a fallback); `pii_types` what masking found in
    the turn. Suggestions carry `model_versions` plus `response_library`.
    """
    active = policy_from(policy)
    if state is not None and state.has_event(turn["event_id"]):
        return CoachingResult((), (), state)
    rules = active or FALLBACK_POLICY
    before = state or ConversationState.start(turn)
    customer = turn["speaker"] == "customer"
    situations = customer_situations(turn.get("text") or "") if customer else []
    reading = _read(turn, scores, before, rules, situations) if customer else None
    new_state = update_state(state, turn, scores, active, reading)
    versions = {**model_versions, "response_library": library.library_version}
    work = _Turn(turn, context, new_state, active, rules, scores, degraded, versions, reading)
    if reading is not None:
        _coach_customer_turn(work, reading, situations, volunteered(pii_types, before.awaiting_pii), ranked, library)
    elif turn["speaker"] == "agent":
        _coach_agent_turn(work, pii_types)
    _closing_check(work)
    cards = select_cards(work.suggestions)
    keys = [card_key(c) for c in cards if c.status == "shown"]
    final_state = new_state.with_raised(work.raised).with_shown(keys)
    return CoachingResult(tuple(cards), tuple(work.alerts), final_state, reading)


def _read(
    turn: Mapping[str, Any], scores: ScoresLike, before: ConversationState, rules: Policy, situations: list[Situation]
) -> Reading:
    named = next((s for s in situations if s.intent), None)
    return read_turn(
        scores.intent,
        scores.intent_confidence,
        text=turn.get("text") or "",
        topic=before.topic,
        agent_asked=before.agent_asked,
        floor=rules.min_confidence,
        high_risk=rules.high_risk_intents,
        situation_intent=named.intent if named else None,
        situation=named.situation_id if named else None,
    )


def _high_risk(work: _Turn, reading: Reading) -> list[tuple[str, str]]:
    """(intent, rule) pairs that make this conversation high-risk right now."""
    rules = work.rules
    found: dict[str, str] = {}
    if reading.intent in rules.high_risk_intents:
        found[reading.intent] = f"guardrail.high_risk_intent:{reading.intent}"
    for intent in work.state.intents_seen:
        if intent in rules.high_risk_intents and intent not in found:
            found[intent] = f"guardrail.high_risk_conversation:{intent}"
    if (work.context.customer or {}).get("vulnerable") and "vulnerable_customer" not in found:
        found["vulnerable_customer"] = "context.customer_vulnerable"
    return list(found.items())


def _situation_cards(work: _Turn, situations: list[Situation], leaked: list[str]) -> None:
    """Cards and alerts of the situational rules a customer turn matched (udfs/policies/situations.json)."""
    hits = [(s, [f"situation.{s.situation_id}"]) for s in situations]
    if leaked:
        hits.append((VOLUNTEERED_PII, [f"situation.volunteered_pii:{'+'.join(leaked)}"]))
    for situation, fired in hits:
        # A volunteered secret is nudged each time; a situation's own card once, like the hints.
        again = situation is VOLUNTEERED_PII or work.once(f"card:{situation.situation_id}")
        if situation.card_kind and situation.card_text and again:
            reason = f"rule {situation.situation_id}" + (
                f" ({', '.join(leaked)})" if situation is VOLUNTEERED_PII else ""
            )
            work.rule_card(situation.card_kind, situation.situation_id, situation.card_text, 1.0, fired, reason=reason)
        spec = situation.alert
        if spec is not None and work.once(f"alert:{spec.alert_type}"):
            work.alert(spec.alert_type, spec.severity, situation.situation_id, spec.message, fired)


def _coach_customer_turn(
    work: _Turn,
    reading: Reading,
    situations: list[Situation],
    leaked: list[str],
    ranked: Sequence[RankedResponse] | None,
    library: ResponseLibrary,
) -> None:
    scores, rules = work.scores, work.rules
    _situation_cards(work, situations, leaked)
    high_risk = _high_risk(work, reading)
    # A new situation (a scam, a legal threat spelled out) is a reason to show the hint again.
    situation = next((s.situation_id for s in situations if s.intent), "")
    for intent, rule in high_risk:
        reason = f"high-risk intent {intent.replace('_', ' ')}"
        if work.once(f"hint:high_risk:{intent}:{situation}"):
            work.rule_card(
                "escalation",
                f"high_risk:{intent}",
                HIGH_RISK_HINTS[intent],
                1.0,
                [rule],
                reason=reason,
                human_review=True,
            )
        if work.once(f"alert:high_risk_intent:{intent}"):
            work.alert(
                "high_risk_intent",
                "critical",
                intent,
                f"High-risk conversation ({intent.replace('_', ' ')}): replies need your review.",
                [rule],
            )
    escalating = scores.escalation_risk >= rules.escalation_risk
    recent = work.state.sentiments[-rules.angry_turns :]
    angry = len(recent) == rules.angry_turns and all(s <= rules.angry_sentiment for s in recent)
    if escalating and work.once("alert:escalation_risk"):
        work.alert(
            "escalation_risk",
            "warning",
            "escalation_risk",
            f"Escalation risk {scores.escalation_risk:.2f} is at or above {rules.escalation_risk:.2f}.",
            ["threshold.escalation_risk"],
        )
    if angry and work.once("alert:angry_trajectory"):
        work.alert(
            "angry_trajectory",
            "warning",
            "angry_trajectory",
            f"The customer's last {rules.angry_turns} turns were all angry (sentiment <= {rules.angry_sentiment}).",
            ["threshold.angry_trajectory"],
        )
    if (escalating or angry) and work.once("hint:escalation"):
        fired = (["threshold.escalation_risk"] if escalating else []) + (
            ["threshold.angry_trajectory"] if angry else []
        )
        reason = f"escalation risk {scores.escalation_risk:.2f}" if escalating else "angry for several turns"
        work.rule_card(
            "escalation", "escalation", RULE_CARDS["escalation"], scores.escalation_risk, fired, reason=reason
        )
    for kind in TEMPLATE_KINDS:
        _template_suggestions(work, reading, kind, ranked if kind == "reply" else None, library, high_risk)


def _candidates(
    work: _Turn, intent: str, kind: str, ranked: Sequence[RankedResponse] | None, library: ResponseLibrary
) -> list[tuple[Template, float, bool]]:
    """(template, confidence, from_ranker) in preference order, without duplicates."""
    out: list[tuple[Template, float, bool]] = []
    seen: set[str] = set()
    for item in sorted(ranked or (), key=lambda r: -r.score):
        try:
            template = library.get(item.template_id)
        except KeyError:
            continue
        if template.kind == kind and work.channel in template.channels and template.template_id not in seen:
            seen.add(template.template_id)
            out.append((template, item.score, True))
    pending = {d for _, d in work.state.pending_disclosures(work.rules)}
    upset = work.scores.sentiment <= UPSET_SENTIMENT
    own = [t for t in library.select(intent, work.channel, kind) if t.template_id not in seen]
    # Stable sort keeps library order among equals.
    own.sort(key=lambda t: (-len(pending.intersection(t.disclosures)), -(upset and t.tone == "empathetic")))
    out.extend((t, work.scores.intent_confidence, False) for t in own)
    return out


def _template_suggestions(
    work: _Turn,
    reading: Reading,
    kind: str,
    ranked: Sequence[RankedResponse] | None,
    library: ResponseLibrary,
    high_risk: list[tuple[str, str]],
) -> None:
    rules = work.rules
    informational = [f"context.missing:{m}" for m in work.context.context_missing]
    if kind == "reply" and work.degraded:
        informational.append("degraded.fast_tier_fallback")
    # An unclear turn still gets its candidates audited, from the model's own guess, all blocked.
    intent = reading.intent if reading.clear else work.scores.intent
    shown: str | None = None
    for template, confidence, from_ranker in _candidates(work, intent, kind, ranked, library):
        fired = informational + (["rank.deep_tier"] if from_ranker else [])
        blocking: list[str] = []
        if work.policy is None:
            blocking.append("context.policy_missing")
        if not reading.clear:
            blocking.append("threshold.min_confidence")
        blocking.extend(template_blocking(template, rules, work.channel, high_risk))
        text = mask_pii(template.text).masked_text if pii_types_in(template.text) else template.text
        if blocking:
            status = "blocked"
        elif work.state.was_shown(template.template_id):
            status = "superseded"  # the agent saw it under this topic: the next-best one gets the slot
            fired.append("rank.already_shown")
        elif shown is None:
            status, shown = "shown", template.template_id
        else:
            status = "superseded"
            fired.append(f"superseded_by:{shown}")
        reason = f"ranked {confidence:.2f} for this turn" if from_ranker else reading.reason
        work.suggestions.append(
            work.suggestion(
                kind,
                status,
                text,
                confidence,
                fired + blocking,
                template_id=template.template_id,
                rule_id=None,
                intent=template.intent,
                human_review=bool(high_risk),
                reason=reason,
            )
        )


def template_blocking(
    template: Template, rules: Policy, channel: str, high_risk: Sequence[tuple[str, str]] = ()
) -> list[str]:
    """The rules that block one library template on a turn (the turn-level ones aside)."""
    blocking: list[str] = []
    if template.kind == "reply":
        blocking.extend(rule for _, rule in high_risk)
        if template.intent in rules.high_risk_intents and template.intent not in dict(high_risk):
            blocking.append(f"guardrail.high_risk_intent:{template.intent}")
        max_chars, formal = rules.channel_limits.get(channel, (8000, False))
        if len(template.text) > max_chars:
            blocking.append(f"policy.channel_limit.max_chars:{channel}:{max_chars}")
        if formal and template.tone != "formal":
            blocking.append(f"policy.channel_limit.formal:{channel}")
    blocking.extend(text_guard(template.text, rules))
    return blocking


def _coach_agent_turn(work: _Turn, pii_types: Sequence[str]) -> None:
    rules, text = work.rules, work.turn.get("text") or ""
    phrases = rules.forbidden_in(text)
    contradicted = contradicted_notices(text)
    if phrases:
        fired = [f"policy.forbidden_phrase:{p}" for p in phrases]
        reason = f"forbidden phrase: {', '.join(phrases)}"
        work.rule_card(
            "compliance_alert", "forbidden_phrase", RULE_CARDS["forbidden_phrase"], 1.0, fired, reason=reason
        )
        work.alert(
            "forbidden_phrase",
            "warning",
            "|".join(phrases),
            f"The agent used {len(phrases)} forbidden phrase(s): {', '.join(phrases)}.",
            fired,
        )
    for rule in contradicted:
        fired = [f"policy.notice_contradiction:{rule.notice}"]
        notice = (rule.notice or "").replace("_", " ")
        reason = f"contradicts the {notice} notice"
        work.rule_card(
            "compliance_alert", f"notice:{rule.notice}", RULE_CARDS["notice_contradiction"], 1.0, fired, reason=reason
        )
        work.alert(
            "notice_contradiction", "warning", rule.situation_id, f"The agent contradicted the {notice} notice.", fired
        )
    if not phrases and not contradicted and work.scores.compliance_risk >= rules.compliance_risk:
        work.rule_card(
            "compliance_alert",
            "compliance_risk",
            RULE_CARDS["compliance_risk"],
            work.scores.compliance_risk,
            ["threshold.compliance_risk"],
            reason=f"compliance risk {work.scores.compliance_risk:.2f}",
        )
    sensitive = sorted(SENSITIVE_PII.intersection(pii_types))
    if sensitive:
        fired = [f"policy.agent_pii:{'+'.join(sensitive)}"]
        reason = f"agent wrote out {', '.join(sensitive)}"
        work.rule_card("compliance_alert", "agent_pii", RULE_CARDS["agent_pii"], 1.0, fired, reason=reason)
        work.alert(
            "agent_pii", "warning", "+".join(sensitive), "The agent wrote out card, bank or identity numbers.", fired
        )
    if work.policy is None:
        return
    disclosures = work.policy.all_disclosures()
    for intent, disclosure_id in work.state.pending_disclosures(work.policy):
        if work.once(f"hint:disclosure:{disclosure_id}"):
            work.rule_card(
                "compliance_alert",
                f"missing_disclosure:{disclosure_id}",
                f"Required disclosure not yet given: {disclosures[disclosure_id].text}",
                1.0,
                [f"policy.required_disclosure:{intent}:{disclosure_id}"],
                reason=f"required for {intent.replace('_', ' ')}",
            )


def _closing_check(work: _Turn) -> None:
    """At a closing turn, the supervisor hears of every required disclosure still missing."""
    if work.policy is None or work.reading is None or work.reading.intent != "closing":
        return
    for intent, disclosure_id in work.state.pending_disclosures(work.policy):
        if work.once(f"alert:missing_disclosure:{disclosure_id}"):
            work.alert(
                "missing_disclosure",
                "warning",
                disclosure_id,
                f"The conversation is closing without the required {disclosure_id.replace('_', ' ')} disclosure "
                f"({intent.replace('_', ' ')}).",
                [f"policy.required_disclosure:{intent}:{disclosure_id}"],
            )
