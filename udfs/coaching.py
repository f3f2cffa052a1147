"""The coaching layer: from one scored, masked turn to suggestions for the agent and alerts for the supervisor.

`coach_turn` is the one entry point the core calls per turn. It is pure: same inputs, same outputs
(ids included). Every candidate suggestion gets an outcome - `shown`, `blocked` (the blocking rules are
in `rules_fired`) or `superseded` (a better candidate was shown, or the three card places were taken) -
and all of them are returned, so the job can audit each one.

A customer turn is first read in context (`udfs.understanding`) and matched against the situational
rules (`udfs.situations`). It gets their cards and alerts, risk hints and supervisor alerts (high-risk
intents, escalation risk, angry trajectory) and reply, knowledge and next-action candidates from the
approved library for the intent it was read as (empathetic tone first for an upset customer,
templates carrying a pending disclosure first, templates already seen under the topic last); at most
three cards are shown (`udfs.cards`). Agent turns are coached in `udfs.agent_coaching`; the shared
working set and its builders are `udfs.turn_work.TurnWork`.

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

from collections.abc import Mapping, Sequence
from typing import Any

from udfs.agent_coaching import closing_check, coach_agent_turn
from udfs.cards import select_cards
from udfs.conversation import ConversationState, ScoresLike, update_state
from udfs.guardrails import pii_types_in, text_guard
from udfs.pii import mask_pii
from udfs.records import Policy, policy_from
from udfs.responses import ResponseLibrary, Template
from udfs.scores import RankedResponse
from udfs.situations import VOLUNTEERED_PII, Situation, customer_situations, volunteered
from udfs.turn_work import RULE_CARDS, CoachingResult, JoinedContext, TurnWork
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
HIGH_RISK_HINTS: dict[str, str] = RULE_CARDS["high_risk"]


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
    work = TurnWork(turn, context, new_state, active, rules, scores, degraded, versions, reading)
    if reading is not None:
        _coach_customer_turn(work, reading, situations, volunteered(pii_types, before.awaiting_pii), ranked, library)
    elif turn["speaker"] == "agent":
        coach_agent_turn(work, pii_types)
    closing_check(work)
    cards = select_cards(work.suggestions)
    # Rule cards repeat by their once-keys; only templates are looked up in the shown list.
    templates = [c.template_id for c in cards if c.status == "shown" and c.template_id]
    final_state = new_state.with_raised(work.raised).with_shown(templates)
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


def _high_risk(work: TurnWork, reading: Reading) -> list[tuple[str, str]]:
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


def _situation_cards(work: TurnWork, situations: list[Situation], leaked: list[str]) -> None:
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
    work: TurnWork,
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
    work: TurnWork, intent: str, kind: str, ranked: Sequence[RankedResponse] | None, library: ResponseLibrary
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
    work: TurnWork,
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
