"""Coaching an agent's turn: compliance cards and alerts, disclosure reminders, and the closing check.

Forbidden phrases (inflections and spoken forms, not negations), statements that contradict a required
notice, asking for a PIN, password or full card number, model-flagged compliance risk, card or identity
numbers written out, and required disclosures the agent has not made yet (reminded once each). When
the customer closes, the supervisor hears of every required disclosure still missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from udfs.situations import asks_for_secret, contradicted_notices
from udfs.turn_work import RULE_CARDS, TurnWork

SENSITIVE_PII = frozenset({"CARD", "CVV", "SSN", "IBAN"})


def coach_agent_turn(work: TurnWork, pii_types: Sequence[str]) -> None:
    """Compliance cards and alerts for one agent turn (`pii_types`: what masking found in it)."""
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
    secret = asks_for_secret(text)
    if secret:
        fired = ["policy.secret_request"]
        reason = "asked for a PIN, password or full card number"
        work.rule_card("compliance_alert", "secret_request", RULE_CARDS["secret_request"], 1.0, fired, reason=reason)
    if not phrases and not contradicted and not secret and work.scores.compliance_risk >= rules.compliance_risk:
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


def closing_check(work: TurnWork) -> None:
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
